// Client side of a streamed `status` (issue 21, big tables): the daemon sends the report in lines of a few hundred
// reals; this assembles them into one report, so `ldir status` works at any table size.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  encodeMessage,
  MAX_RESPONSE_BYTES,
  PROTOCOL_VERSION,
  type ControlRequest,
  type ControlResponse,
  type RealStatus,
  type StatusReport,
  type VirtualStatus,
} from '../daemon/protocol';
import {
  realStatusSchema,
  responseEnvelopeSchema,
  statusReportSchema,
  virtualStatusSchema,
  wireErrorSchema,
} from '../daemon/protocol-schema';
import { arrayOf, int, literal, object } from '../daemon/validate';
import { ErrorCodes, isLdirError, LdirError } from '../errors';
import {
  DEFAULT_REQUEST_TIMEOUTS,
  sendControlRequest,
  transportError,
  type ControlClientOptions,
} from './control-client';

/** Options of {@link requestStatus}. */
export interface StatusClientOptions extends ControlClientOptions {
  /**
   * Longest line read (bytes); default {@link MAX_RESPONSE_BYTES}. A streamed line holds a few hundred reals; an
   * older daemon's single answer holds them all and may not fit.
   */
  readonly maxLineBytes?: number;
}

const endPart = object({ virtuals: int({ min: 0 }), reals: int({ min: 0 }) }, false);
const partName = literal('head', 'virtual', 'reals', 'end', 'wait');
const realsPart = arrayOf(realStatusSchema);

/** Assembles the parts of a streamed answer, checking their order and the counts of the `end` part. */
class ReportAssembler {
  private report: { -readonly [K in keyof StatusReport]: StatusReport[K] } | undefined;
  private last: { -readonly [K in keyof VirtualStatus]: VirtualStatus[K] } | undefined;
  private realsSeen = 0;
  done: StatusReport | undefined;

  /** Takes one parsed `ok` line; throws an `LdirError` (CONTROL_FAILED) when it does not fit. */
  take(record: Record<string, unknown>): void {
    const part = partName(record['part'], '$.part');
    if (this.done) throw this.bad('a part after the end');
    if (part === 'wait') return; // progress only: the daemon is making the next line
    if (part === 'head') {
      if (this.report) throw this.bad('a second head');
      this.report = { ...statusReportSchema(record['result'], '$.result'), virtualServices: [] };
      return;
    }
    if (!this.report) throw this.bad(`a "${part}" part before the head`);
    if (part === 'virtual') {
      const v = virtualStatusSchema(record['virtual'], '$.virtual');
      this.last = { ...v, reals: [...v.reals] };
      this.realsSeen += v.reals.length;
      (this.report.virtualServices as VirtualStatus[]).push(this.last);
    } else if (part === 'reals') {
      if (!this.last) throw this.bad('reals before their virtual service');
      const reals = realsPart(record['reals'], '$.reals');
      for (const r of reals) (this.last.reals as RealStatus[]).push(r);
      this.realsSeen += reals.length;
    } else {
      const end = endPart(record, '$');
      const virtuals = this.report.virtualServices.length;
      if (end.virtuals !== virtuals || end.reals !== this.realsSeen) {
        throw this.bad(
          `incomplete: ${virtuals} virtual services and ${this.realsSeen} reals received, ${end.virtuals} and ${end.reals} sent`,
        );
      }
      this.done = this.report;
    }
  }

  private bad(what: string): LdirError {
    return new LdirError(ErrorCodes.CONTROL_FAILED, `invalid status answer from the ldir daemon: ${what}`);
  }
}

/** An older daemon refuses the `stream` member of a status request: it speaks the single-answer status only. */
function refusesStream(response: ControlResponse<'status'>): boolean {
  return (
    !response.ok && response.error.code === ErrorCodes.CONTROL_BAD_REQUEST && /\bstream\b/.test(response.error.message)
  );
}

/**
 * Asks the daemon at `path` for its status as a streamed answer and assembles the report; resolves with a response
 * like {@link sendControlRequest}'s (an error response is a normal result). The timeout is on progress: it fails with
 * `LDIR_ERR_CONTROL_TIMEOUT` when no line arrives for `timeoutMs`, however long the whole answer takes. A daemon
 * that does not stream (an older version) is asked again for its single answer.
 */
export async function requestStatus(
  path: string,
  options: StatusClientOptions = {},
): Promise<ControlResponse<'status'>> {
  const first = await streamStatus(path, options);
  if (!refusesStream(first)) return first;
  return sendControlRequest(path, { type: 'status' }, options);
}

function streamStatus(path: string, options: StatusClientOptions): Promise<ControlResponse<'status'>> {
  const id = options.id ?? randomUUID();
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUTS.status;
  const maxLine = options.maxLineBytes ?? MAX_RESPONSE_BYTES;
  const request = { type: 'status', stream: true, v: PROTOCOL_VERSION, id } as ControlRequest;
  const assembler = new ReportAssembler();
  return new Promise((resolve, reject) => {
    let parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    let lines = 0;
    const socket = net.createConnection({ path, allowHalfOpen: true });
    const finish = (error: LdirError | undefined, response?: ControlResponse<'status'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response as ControlResponse<'status'>);
    };
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(
            new LdirError(
              ErrorCodes.CONTROL_TIMEOUT,
              `no ${lines === 0 ? 'answer' : 'further status line'} from the ldir daemon within ${timeoutMs} ms (${path})`,
              { details: { path, timeoutMs, lines } },
            ),
          ),
        timeoutMs,
      );
    };
    arm();
    const line = (text: string): void => {
      lines++;
      arm();
      try {
        const value: unknown = JSON.parse(text);
        const envelope = responseEnvelopeSchema(value, '$');
        const record = value as Record<string, unknown>;
        if (envelope.id !== id && !(envelope.ok === false && envelope.id === null)) {
          throw new LdirError(
            ErrorCodes.CONTROL_FAILED,
            `answer for request ${JSON.stringify(envelope.id)}, expected ${JSON.stringify(id)}`,
          );
        }
        if (envelope.ok === false) {
          finish(undefined, {
            v: envelope.v,
            id: envelope.id,
            ok: false,
            error: wireErrorSchema(record['error'], '$.error'),
          });
          return;
        }
        if (record['type'] !== 'status')
          throw new LdirError(
            ErrorCodes.CONTROL_FAILED,
            `expected a "status" answer, got ${JSON.stringify(record['type'])}`,
          );
        if (!('part' in record)) {
          // a daemon that ignored `stream`: its single answer
          finish(undefined, {
            v: envelope.v,
            id,
            ok: true,
            type: 'status',
            result: statusReportSchema(record['result'], '$.result'),
          });
          return;
        }
        assembler.take(record);
        if (assembler.done) finish(undefined, { v: envelope.v, id, ok: true, type: 'status', result: assembler.done });
      } catch (err) {
        finish(
          isLdirError(err)
            ? err
            : new LdirError(
                ErrorCodes.CONTROL_FAILED,
                `invalid answer from the ldir daemon: ${(err as Error).message}`,
                { cause: err, details: { path } },
              ),
        );
      }
    };
    socket.once('connect', () => socket.write(encodeMessage(request)));
    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      while (!settled) {
        const nl = chunk.indexOf(0x0a, start);
        const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
        size += piece.length;
        if (size > maxLine) {
          finish(
            new LdirError(ErrorCodes.CONTROL_FAILED, `answer line longer than ${maxLine} bytes`, { details: { path } }),
          );
          return;
        }
        parts.push(piece);
        if (nl < 0) return;
        const text = Buffer.concat(parts).toString('utf8');
        parts = [];
        size = 0;
        line(text);
        start = nl + 1;
      }
    });
    socket.on('end', () =>
      finish(
        new LdirError(
          ErrorCodes.CONTROL_FAILED,
          `the ldir daemon closed the connection ${lines === 0 ? 'without answering "status"' : 'before the end of its status'}`,
          { details: { path } },
        ),
      ),
    );
    socket.on('error', (err) => finish(transportError(path, err)));
  });
}
