// Headless Chromium (the Debian package) driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
// NUL-terminated JSON on file descriptors 3 and 4): no port is opened, no library is needed. Enough for tests that
// load a page, evaluate expressions in it and take screenshots.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The chromium executable on PATH, or undefined. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  }
  return undefined;
}

interface Pending {
  readonly resolve: (v: Record<string, unknown>) => void;
  readonly reject: (e: Error) => void;
  readonly method: string;
}

/** One page (a target attached in flat mode) of a {@link Chromium}. */
export interface BrowserPage {
  /** Navigates and resolves once the load event fired (bounded by the browser's command timeout). */
  goto(url: string): Promise<void>;
  /** Evaluates `expression` in the page; resolves with its value (JSON-serialisable), awaiting a promise. */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the whole page (beyond the viewport). */
  screenshot(): Promise<Buffer>;
}

/** A headless Chromium process; {@link close} kills it and removes its profile. */
export class Chromium {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(msg: Record<string, unknown>) => void>();
  private buffer = '';
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
    private readonly timeoutMs: number,
  ) {
    const out = child.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => this.receive(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (this.stderr.length < 16_384) this.stderr += chunk;
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values())
        p.reject(new Error(`chromium exited (${code ?? signal}) during ${p.method}: ${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  /** Starts `executable` headless (as root it needs --no-sandbox), each protocol command bounded by `timeoutMs`. */
  static async launch(executable: string, timeoutMs = 30_000): Promise<Chromium> {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ldir-chromium-'));
    const child = spawn(
      executable,
      [
        '--headless',
        '--remote-debugging-pipe',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--metrics-recording-only',
        '--mute-audio',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
    );
    const browser = new Chromium(child, profile, timeoutMs);
    await browser.send('Browser.getVersion');
    return browser;
  }

  /** Opens a new page of `width`×`height` CSS pixels. */
  async newPage(width = 1280, height = 900): Promise<BrowserPage> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as {
      sessionId: string;
    };
    const call = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
      this.send(method, params, sessionId);
    await call('Page.enable');
    await call('Runtime.enable');
    await call('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: width < 600 });
    return {
      goto: async (url) => {
        const loaded = this.waitFor(
          (m) => m['sessionId'] === sessionId && m['method'] === 'Page.loadEventFired',
          `load of ${url}`,
        );
        const r = await call('Page.navigate', { url });
        if (typeof r['errorText'] === 'string') throw new Error(`navigation to ${url} failed: ${r['errorText']}`);
        await loaded;
      },
      evaluate: async <T>(expression: string) => {
        const r = await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
        const ex = r['exceptionDetails'] as { text?: string; exception?: { description?: string } } | undefined;
        if (ex)
          throw new Error(
            `page threw: ${ex.exception?.description ?? ex.text ?? 'unknown'} (in ${expression.slice(0, 200)})`,
          );
        return (r['result'] as { value?: T }).value as T;
      },
      screenshot: async () => {
        const r = await call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
        return Buffer.from(r['data'] as string, 'base64');
      },
    };
  }

  /** What chromium wrote on stderr so far (for failure messages). */
  log(): string {
    return this.stderr;
  }

  /** Kills the browser with its helper processes (its own process group) and removes its profile. */
  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
      try {
        if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        this.child.kill('SIGKILL');
      }
      await gone;
    }
    fs.rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }

  private send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.exited)
      return Promise.reject(new Error(`chromium is not running (${method}): ${this.stderr.slice(-2000)}`));
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`chromium did not answer ${method} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      (this.child.stdio[3] as Writable).write(`${message}\0`);
    });
  }

  private waitFor(match: (msg: Record<string, unknown>) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`chromium: no ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const listener = (msg: Record<string, unknown>): void => {
        if (!match(msg)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      const msg = JSON.parse(text) as Record<string, unknown>;
      const id = msg['id'];
      if (typeof id === 'number') {
        const p = this.pending.get(id);
        if (!p) continue;
        this.pending.delete(id);
        const error = msg['error'] as { message?: string } | undefined;
        if (error) p.reject(new Error(`${p.method}: ${error.message ?? JSON.stringify(error)}`));
        else p.resolve((msg['result'] ?? {}) as Record<string, unknown>);
      } else {
        for (const l of [...this.listeners]) l(msg);
      }
    }
  }
}
