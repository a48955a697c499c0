// The status page's two routes on the metrics endpoint: `GET /` (the page, src/metrics/status-page.ts) and
// `GET /status.json` (the daemon's status report, as `ldir status --json` prints it). Both are read-only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage, ErrorCodes } from '../errors';
import type { Logger } from '../log';
import { sharedScrape, type RenderedScrape } from './shared-scrape';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page';

/** Paths the status routes answer. */
export const STATUS_PATHS: ReadonlySet<string> = new Set(['/', '/status.json']);

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Where the status routes get the report. */
export interface StatusSource {
  /**
   * The daemon's report builder (`Daemon.statusReport`, the `ldir status --json` content). Served as JSON as it is:
   * the endpoint does not read the report, so its type stays with the daemon (the layer above).
   */
  readonly report: () => Promise<object>;
  /**
   * Applied to the report's JSON text before it leaves: the daemon's secret redactor (`SecretRedactor.jsonLine`), as
   * on the control socket, so a secret that reached a check reason or a diagnostic is not served either.
   */
  readonly redact?: (json: string) => string;
}

/** Answers the status routes: the page, and the report rendered once for the requests that arrive together. */
export class StatusRoutes {
  private readonly render: () => Promise<RenderedScrape>;

  /** A rendering of `source`'s report longer than `timeoutMs` answers 503. */
  constructor(
    source: StatusSource,
    timeoutMs: number,
    private readonly log: Logger | undefined,
  ) {
    const redact = source.redact ?? ((json: string): string => json);
    this.render = sharedScrape(
      {
        scrape: async () => {
          const body = redact(`${JSON.stringify(await source.report())}\n`);
          const bytes = Buffer.from(body, 'utf8');
          return { contentType: 'application/json; charset=utf-8', chunks: [bytes], length: bytes.length, body };
        },
      },
      timeoutMs,
    );
  }

  /** Answers `path` (one of {@link STATUS_PATHS}) for a GET or HEAD. */
  serve(path: string, req: IncomingMessage, res: ServerResponse): void {
    const head = req.method === 'HEAD';
    if (path === '/') {
      res.writeHead(200, {
        ...COMMON_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': String(STATUS_PAGE_HTML.length),
        'Content-Security-Policy': STATUS_PAGE_CSP,
        'X-Frame-Options': 'DENY',
      });
      res.end(head ? undefined : STATUS_PAGE_HTML);
      return;
    }
    this.serveReport(res, head, String(req.headers['accept-encoding'] ?? '')).catch((err: unknown) => {
      this.log?.error({ err: errorMessage(err) }, 'status.json response failed');
      if (!res.headersSent) this.fail(res, 500, 'internal error', head);
      else res.destroy();
    });
  }

  private async serveReport(res: ServerResponse, head: boolean, accepts: string): Promise<void> {
    let rendered: RenderedScrape;
    try {
      rendered = await this.render();
    } catch (err) {
      const message = errorMessage(err).replace(/[\r\n]+/g, ' ');
      this.log?.warn({ err: message, code: ErrorCodes.METRICS_SCRAPE_FAILED }, 'status report failed');
      this.fail(res, 503, `status not available: ${message}`, head);
      return;
    }
    if (res.destroyed) return;
    const gzip = /\bgzip\b/.test(accepts);
    const body = gzip ? await rendered.gzipped() : rendered.body;
    if (res.destroyed) return;
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'Content-Type': rendered.contentType,
      'Content-Length': String(body.length),
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.end(head ? undefined : body);
  }

  private fail(res: ServerResponse, status: number, message: string, head: boolean): void {
    const body = `${JSON.stringify({ error: message })}\n`;
    res.writeHead(status, {
      ...COMMON_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    res.end(head ? undefined : body);
  }
}
