// FTP negotiate check (service `ftp`): login, `cwd /`, binary, passive RETR of `request`, content matched by `receive`.
//
// basic-ftp is a maintained, dependency-free client that does passive transfers (EPSV, then PASV) and binary mode;
// it has no AbortSignal, but `close()` rejects the task in flight at once, which is what the signal is mapped to.
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
// basic-ftp loads on the first ftp check (start-up time of directors that have none).
import { fail, guardCheck, pass, reasonOf, receivePattern, type CheckVerdict } from './guard';
import type { CheckJob, Checker } from './types';

/** Bytes of the retrieved file kept for matching; the rest of the transfer is read and dropped. */
const MAX_CONTENT_BYTES = 1024 * 1024;

/** A writable sink that keeps the first `limit` bytes written to it. */
class CappedSink extends Writable {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes written in all, kept or not. */
  total = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.total += chunk.length;
    if (this.kept < this.limit) {
      const part = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(part);
      this.kept += part.length;
    }
    callback();
  }

  /** The kept bytes as text (UTF-8; a pattern on ASCII text matches whatever the encoding). */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * FTP check, as ldirectord's `check_ftp` (Net::FTP): log in (`login`/`passwd`, else `anonymous` and
 * `ldirectord@<hostname>`), `cwd /`, binary, passive, retrieve `request` (leading `/` removed) and compare the
 * content with `receive`; up when it matches, or, with an empty `receive`, when the transfer succeeded. Bounded by
 * `negotiateTimeoutMs` (also the client's inactivity timeout).
 */
export const ftpCheck: Checker = (job, signal) =>
  guardCheck(signal, job.negotiateTimeoutMs, (inner) => ftpDialogue(job, inner));

async function ftpDialogue(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  const path = job.request.replace(/^\/+/, '');
  if (path === '') return fail('no file to retrieve (request is empty)');
  const pattern = receivePattern(job.receive);
  const { Client } = await import('basic-ftp');
  if (signal.aborted) return fail('timeout');
  const client = new Client(Math.max(1, job.negotiateTimeoutMs));
  const onAbort = (): void => client.close();
  signal.addEventListener('abort', onAbort, { once: true });
  let step = 'connect';
  try {
    await client.connect(job.address, job.port);
    step = 'login';
    await client.login(job.login || 'anonymous', job.passwd || `ldirectord@${hostname()}`);
    step = 'binary';
    await client.send('TYPE I');
    step = 'cwd /';
    await client.cd('/');
    step = 'retr';
    const sink = new CappedSink(MAX_CONTENT_BYTES);
    await client.downloadTo(sink, path);
    if (!pattern) return pass(`retrieved ${sink.total} bytes`);
    return pattern.test(sink.text())
      ? pass(`content matched /${job.receive}/`)
      : fail(`content did not match /${job.receive}/`);
  } catch (err) {
    return fail(signal.aborted ? 'timeout' : ftpReason(step, err));
  } finally {
    signal.removeEventListener('abort', onAbort);
    client.close();
  }
}

/** A short reason for a failed step: the errno word for socket errors, else the step and the server's reply. */
function ftpReason(step: string, err: unknown): string {
  const reason = reasonOf(err);
  if (/^Timeout \(/.test(reason)) return 'timeout';
  if (step === 'connect' && !/^\d{3} /.test(reason)) return reason;
  return `${step}: ${reason}`;
}
