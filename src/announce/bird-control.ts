// A client of BIRD 2's control socket (the protocol birdc speaks): a greeting, then one command, its reply lines.
import * as net from 'node:net';
import { ErrorCodes, LdirError } from '../errors';

/** One reply line: its four-digit code (or the code it continues) and its text. */
export interface BirdReplyLine {
  readonly code: number;
  readonly text: string;
}

/** Default bound on one exchange (connect, greeting, command, reply). */
export const BIRD_TIMEOUT_MS = 5_000;

/**
 * Parses the reply lines in `buffer` (`DDDD-text` goes on, `DDDD text` ends, ` text` continues the code before,
 * `+DDDD text` is an unsolicited message and is skipped). Returns the lines and whether the last one ended the reply.
 */
export function parseBirdReply(buffer: string): { lines: BirdReplyLine[]; done: boolean } {
  const lines: BirdReplyLine[] = [];
  let code = 0;
  for (const raw of buffer.split('\n').slice(0, -1)) {
    if (raw.startsWith('+')) continue;
    const m = /^(\d{4})([ -])(.*)$/.exec(raw);
    if (m) {
      code = Number(m[1]);
      lines.push({ code, text: m[3] ?? '' });
      if (m[2] === ' ') return { lines, done: true };
    } else {
      lines.push({ code, text: raw.replace(/^ /, '') });
    }
  }
  return { lines, done: false };
}

/** True for a reply code BIRD uses for an error (8xxx run-time errors, 9xxx parse errors). */
export function isBirdError(code: number): boolean {
  return code >= 8000;
}

/**
 * Sends `command` over the control socket at `path` and resolves with the reply lines (the greeting is read first).
 * Rejects with LDIR_ERR_ANNOUNCE when the socket cannot be reached, the exchange takes longer than `timeoutMs`, or
 * the connection ends before the reply does.
 */
export function birdCommand(path: string, command: string, timeoutMs = BIRD_TIMEOUT_MS): Promise<BirdReplyLine[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buffer = '';
    let greeted = false;
    let settled = false;
    const finish = (err: Error | undefined, lines?: BirdReplyLine[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(lines ?? []);
    };
    const timer = setTimeout(
      () =>
        finish(
          new LdirError(
            ErrorCodes.ANNOUNCE,
            `BIRD control socket ${path}: no answer to "${command}" within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('error', (err) =>
      finish(new LdirError(ErrorCodes.ANNOUNCE, `BIRD control socket ${path}: ${err.message}`)),
    );
    socket.on('close', () =>
      finish(
        new LdirError(ErrorCodes.ANNOUNCE, `BIRD control socket ${path}: closed before the answer to "${command}"`),
      ),
    );
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const reply = parseBirdReply(buffer);
      if (!reply.done) return;
      if (!greeted) {
        greeted = true;
        buffer = '';
        const first = reply.lines[reply.lines.length - 1];
        if (first?.code !== 1) {
          finish(
            new LdirError(
              ErrorCodes.ANNOUNCE,
              `BIRD control socket ${path}: unexpected greeting "${first?.text ?? ''}"`,
            ),
          );
          return;
        }
        socket.write(`${command}\n`);
        return;
      }
      finish(undefined, reply.lines);
    });
  });
}

/**
 * Asks BIRD to read its configuration again (`configure`: changed filters are re-applied to the routes already
 * exported, so a prefix that leaves the set is withdrawn at once). Resolves on 0003 (reconfigured), 0004/0005 (in
 * progress, queued) or 0019 (nothing to do); rejects with LDIR_ERR_ANNOUNCE and BIRD's text on an error reply.
 */
export async function birdConfigure(path: string, timeoutMs = BIRD_TIMEOUT_MS): Promise<string> {
  const lines = await birdCommand(path, 'configure', timeoutMs);
  const last = lines[lines.length - 1];
  const text = lines.map((l) => l.text).join('; ');
  if (!last || isBirdError(last.code) || ![3, 4, 5, 19].includes(last.code)) {
    throw new LdirError(ErrorCodes.ANNOUNCE, `BIRD refused "configure": ${text || 'no answer'}`);
  }
  return text;
}
