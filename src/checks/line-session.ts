// A minimal line-oriented client connection (plain TCP or TLS) for the POP3 and IMAP checks.
import { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tlsClientOptions } from './tls-options';
import type { CheckJob } from './types';

/** Longest server line accepted; a longer one ends the session (a check needs only short status lines). */
const MAX_LINE_BYTES = 64 * 1024;

/** True when a credential cannot travel on one protocol line (CR, LF or NUL would split or end the command). */
export function breaksLine(value: string): boolean {
  return /[\r\n\0]/.test(value);
}

/** The first line of a server reply, trimmed and shortened for a check reason. */
export function shortLine(line: string): string {
  return line.trim().slice(0, 120);
}

/**
 * One client connection that reads CRLF- (or LF-) terminated lines and writes commands. Reads reject when the
 * connection fails or closes; {@link LineSession.close} (or the signal given to {@link LineSession.open}) ends it.
 */
export class LineSession {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('end', () => this.fail(new Error('connection closed')));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /**
   * Connects to the job's address and port (TLS from the start when `secure`, see {@link tlsClientOptions}); the
   * connection is destroyed when `signal` aborts.
   */
  static open(job: CheckJob, secure: boolean, signal: AbortSignal): Promise<LineSession> {
    return new Promise<LineSession>((resolve, reject) => {
      if (signal.aborted) {
        reject(new DOMException('aborted', 'AbortError'));
        return;
      }
      const socket = secure
        ? tlsConnect({ ...tlsClientOptions(job), host: job.address, port: job.port })
        : new Socket().connect({ host: job.address, port: job.port });
      const session = new LineSession(socket);
      const onAbort = (): void => {
        socket.destroy();
        reject(new DOMException('aborted', 'AbortError'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('close', () => signal.removeEventListener('abort', onAbort));
      socket.once(secure ? 'secureConnect' : 'connect', () => resolve(session));
      socket.once('error', reject);
    });
  }

  /** The next line from the server, without its line ending. */
  readLine(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<string>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Sends one command line (CRLF is appended). */
  writeLine(line: string): void {
    if (!this.socket.destroyed) this.socket.write(`${line}\r\n`, 'utf8');
  }

  /**
   * Sends a closing command (`QUIT`, `A9 LOGOUT`), waits at most `graceMs` for the server's answer (not judged: the
   * verdict is already made), then closes.
   */
  async farewell(command: string, graceMs = 1000): Promise<void> {
    if (this.failure) return this.close();
    this.writeLine(command);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.readLine().catch(() => ''),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    this.close();
  }

  /** Closes the connection at once; pending and later reads reject. */
  close(): void {
    this.socket.destroy();
    this.fail(new Error('connection closed'));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      this.push(this.buffer.slice(0, nl).replace(/\r$/, ''));
      this.buffer = this.buffer.slice(nl + 1);
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.fail(new Error('server line too long'));
      this.socket.destroy();
    }
  }

  private push(line: string): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.resolve(line);
    else this.lines.push(line);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }
}
