// MySQL/MariaDB and PostgreSQL negotiate checks (ldirectord check_sql): log in, run the request, up on at least one row.
import { Socket } from 'node:net';
// mysql2 and pg load on the first check that needs them: most directors never run a database check, and together
// they are a quarter of a second of start-up on a fast machine (seconds under emulation).
import type { QueryError } from 'mysql2';
import type { QueryResult } from 'pg';
import { fail, guardCheck, pass, reasonOf, type CheckVerdict } from './guard';
import type { CheckJob, Checker } from './types';

/** The SQL statement of a check: the request without the leading `/` that the model adds. */
export function sqlQuery(request: string): string {
  return request.startsWith('/') ? request.slice(1) : request;
}

/** ldirectord refuses SQL checks without a login or a query ("Must specify a login and request string"). */
export function sqlPrecondition(job: CheckJob): CheckVerdict | undefined {
  if (job.login === '') return fail('no login configured');
  if (sqlQuery(job.request) === '') return fail('no request (query) configured');
  return undefined;
}

/** The verdict from a row count (rows returned by a SELECT, rows affected otherwise), as DBI's `$sth->rows`. */
export function rowsVerdict(rows: number): CheckVerdict {
  return rows > 0 ? pass(`${rows} row${rows === 1 ? '' : 's'}`) : fail('no rows returned');
}

/** A checker that refuses a job without login or query, then runs `body` under `negotiatetimeout`. */
export function sqlChecker(body: (job: CheckJob, signal: AbortSignal) => Promise<CheckVerdict>): Checker {
  return (job, signal) => guardCheck(signal, job.negotiateTimeoutMs, async (s) => sqlPrecondition(job) ?? body(job, s));
}

/** Database errors read `<step> failed: <message>`; socket errors keep their short reason (`refused`, ...). */
export function dbReason(step: string, err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timeout';
  const reason = reasonOf(err);
  const code = (err as { code?: unknown }).code;
  const isSocket = typeof code === 'string' && /^E[A-Z]+$/.test(code) && !code.startsWith('ER_');
  return isSocket ? reason : `${step} failed: ${reason}`;
}

async function mysqlBody(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  const { createConnection } = await import('mysql2');
  if (signal.aborted) return fail('timeout');
  return new Promise<CheckVerdict>((resolve) => {
    let step = 'login';
    const conn = createConnection({
      host: job.address,
      port: job.port,
      user: job.login,
      password: job.passwd,
      ...(job.database !== '' ? { database: job.database } : {}),
      connectTimeout: Math.max(1, job.negotiateTimeoutMs),
    });
    let settled = false;
    const finish = (verdict: CheckVerdict): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      conn.destroy();
      resolve(verdict);
    };
    const onAbort = (): void => finish(fail('timeout'));
    signal.addEventListener('abort', onAbort, { once: true });
    // A connection error is reported both here and to the pending query; the first one decides.
    conn.on('error', (err: QueryError) => finish(fail(dbReason(step, err, signal))));
    conn.connect((err) => {
      if (err) return finish(fail(dbReason('login', err, signal)));
      step = 'query';
      conn.query(sqlQuery(job.request), (qerr, results) => {
        if (qerr) return finish(fail(dbReason('query', qerr, signal)));
        const rows = Array.isArray(results)
          ? results.length
          : ((results as { affectedRows?: number }).affectedRows ?? 0);
        finish(rowsVerdict(rows));
      });
    });
  });
}

async function pgsqlBody(job: CheckJob, signal: AbortSignal): Promise<CheckVerdict> {
  const { Client } = await import('pg');
  if (signal.aborted) return fail('timeout');
  // Our own socket, so that an abort can destroy it whatever state the client is in.
  const socket = new Socket();
  const onAbort = (): void => {
    socket.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const client = new Client({
    host: job.address,
    port: job.port,
    user: job.login,
    password: job.passwd,
    ...(job.database !== '' ? { database: job.database } : {}),
    connectionTimeoutMillis: Math.max(1, job.negotiateTimeoutMs),
    stream: () => socket,
  });
  client.on('error', () => undefined); // errors after the promise settled (e.g. our own destroy) must not crash
  try {
    try {
      await client.connect();
    } catch (err) {
      return fail(dbReason('login', err, signal));
    }
    let result: QueryResult | QueryResult[];
    try {
      result = (await client.query(sqlQuery(job.request))) as QueryResult | QueryResult[];
    } catch (err) {
      return fail(dbReason('query', err, signal));
    }
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    return rowsVerdict(last ? (last.rowCount ?? last.rows.length) : 0);
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.destroy();
    await client.end().catch(() => undefined);
  }
}

/**
 * MySQL/MariaDB check (`service=mysql`): connects to address:port as login/passwd (database when set), runs `request`
 * (leading `/` removed) and is up when it returns at least one row. Unlike ldirectord, bounded by `negotiatetimeout`.
 */
export const mysqlCheck: Checker = sqlChecker(mysqlBody);

/**
 * PostgreSQL check (`service=pgsql`): connects to address:port as login/passwd (database when set, else the server's
 * default), runs `request` (leading `/` removed) and is up when it returns at least one row. Bounded by
 * `negotiatetimeout`.
 */
export const pgsqlCheck: Checker = sqlChecker(pgsqlBody);
