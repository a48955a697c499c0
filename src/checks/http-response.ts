// Parses one HTTP/1.x response read off a socket (status line, headers, body framed by length, chunks or close).

/** A response as far as a health check needs it. */
export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case; repeated headers joined with `, `. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** False when the body was cut short: the connection ended (or the read limit hit) before its declared end. */
  readonly complete: boolean;
}

/** Why bytes are not a response: nothing arrived, the headers never ended, or they are not HTTP. */
export interface HttpParseFailure {
  readonly error: 'empty' | 'incomplete headers' | 'not an HTTP response';
}

const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: |$)/;

/** Index just past the blank line ending the header block at `from`, or -1. Accepts CRLF and bare LF. */
function headerEnd(data: Buffer, from: number): { end: number; textEnd: number } | undefined {
  for (let i = data.indexOf(10, from); i !== -1; i = data.indexOf(10, i + 1)) {
    if (data[i + 1] === 10) return { end: i + 2, textEnd: i };
    if (data[i + 1] === 13 && data[i + 2] === 10) return { end: i + 3, textEnd: i };
  }
  return undefined;
}

/** Decodes a chunked body; `complete` once the last (zero) chunk and the trailer end were seen. */
function dechunk(data: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf(10, at);
    if (lineEnd === -1) break;
    const size = parseInt(data.toString('latin1', at, lineEnd).split(';')[0]?.trim() ?? '', 16);
    if (!Number.isFinite(size) || size < 0) break;
    at = lineEnd + 1;
    if (size === 0) {
      const trailer = headerEnd(data, at - 1);
      return { body: Buffer.concat(parts), complete: trailer !== undefined };
    }
    parts.push(data.subarray(at, Math.min(data.length, at + size)));
    if (at + size > data.length) break;
    at += size;
    if (data[at] === 13) at++;
    if (data[at] === 10) at++;
  }
  return { body: Buffer.concat(parts), complete: false };
}

/**
 * Parses the response to one request of method `method` from everything the server sent (`data`, read until it
 * closed or up to a limit). Interim 1xx responses are skipped. The body is framed as RFC 9112 says: none for HEAD,
 * 1xx, 204 and 304; `Transfer-Encoding: chunked`; `Content-Length`; else up to the end of the data.
 */
export function parseHttpResponse(data: Buffer, method: string): HttpResponse | HttpParseFailure {
  let from = 0;
  for (;;) {
    if (from >= data.length) return { error: from === 0 ? 'empty' : 'incomplete headers' };
    const found = headerEnd(data, from);
    if (!found) {
      const head = data.toString('latin1', from, Math.min(data.length, from + 16));
      return {
        error:
          /^HTTP\/\d/.test(head) || head === 'HTTP/'.slice(0, head.length)
            ? 'incomplete headers'
            : 'not an HTTP response',
      };
    }
    const lines = data.toString('latin1', from, found.textEnd).split(/\r?\n/);
    const match = STATUS_LINE.exec(lines[0] ?? '');
    if (!match) return { error: 'not an HTTP response' };
    const status = Number(match[1]);
    if (status >= 100 && status < 200 && status !== 101) {
      from = found.end;
      continue;
    }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const seen = headers.get(name);
      headers.set(name, seen === undefined ? value : `${seen}, ${value}`);
    }
    const rest = data.subarray(found.end);
    if (method === 'HEAD' || status === 204 || status === 304 || status < 200) {
      return { status, headers, body: Buffer.alloc(0), complete: true };
    }
    if (/(?:^|,)\s*chunked\s*$/i.test(headers.get('transfer-encoding') ?? '')) {
      const { body, complete } = dechunk(rest);
      return { status, headers, body, complete };
    }
    const lengthText = headers.get('content-length');
    if (lengthText !== undefined && /^\d+$/.test(lengthText)) {
      const length = Number(lengthText);
      return { status, headers, body: rest.subarray(0, length), complete: rest.length >= length };
    }
    return { status, headers, body: rest, complete: true };
  }
}
