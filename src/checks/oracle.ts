// Oracle negotiate check (ldirectord check_oracle) through node-oracledb's thin mode, and whether a driver is there.
import type * as OracleDb from 'oracledb';
import { dbReason, rowsVerdict, sqlChecker, sqlQuery } from './sql';
import { fail, reasonOf, type CheckVerdict } from './guard';
import type { CheckJob, Checker } from './types';

/** Whether Oracle checks can run here; the config/probe layer reports `reason` as a configuration error. */
export type OracleSupport = { readonly supported: true } | { readonly supported: false; readonly reason: string };

/** Loads the driver module; injectable so that tests can simulate a missing driver. */
export type OracleLoader = () => typeof OracleDb;

/** The default loader: `require('oracledb')` (an optional dependency, loaded on first use only). */
const loadOracleDb: OracleLoader = () => require('oracledb') as typeof OracleDb;

interface Driver {
  readonly support: OracleSupport;
  readonly db?: typeof OracleDb;
}

const drivers = new WeakMap<OracleLoader, Driver>();

function driver(load: OracleLoader): Driver {
  let d = drivers.get(load);
  if (!d) {
    d = probe(load);
    drivers.set(load, d);
  }
  return d;
}

function probe(load: OracleLoader): Driver {
  let db: typeof OracleDb;
  try {
    db = load();
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return {
      support: {
        supported: false,
        reason: `service=oracle is not supported: the oracledb package cannot be loaded (${message})`,
      },
    };
  }
  if (typeof db.getConnection !== 'function') {
    return {
      support: {
        supported: false,
        reason: 'service=oracle is not supported: the oracledb package has no getConnection',
      },
    };
  }
  // Thin mode (pure JavaScript, Oracle Database 12.1 or later) is the default; thick mode would need Instant Client.
  if (db.thin === false) {
    return {
      support: {
        supported: false,
        reason: 'service=oracle is not supported: oracledb is in thick mode without Oracle Instant Client',
      },
    };
  }
  return { support: { supported: true }, db };
}

/**
 * Whether `service=oracle` checks can run: the `oracledb` package must load (its thin mode needs no Oracle client
 * libraries). When it cannot, `reason` says why, for a clear error at configuration time instead of a silent pass.
 */
export function oracleSupport(load: OracleLoader = loadOracleDb): OracleSupport {
  return driver(load).support;
}

const DESCRIPTOR_UNSAFE = /[()=\s]/;

/**
 * The connect descriptor of a check: TCP to address:port with `database` as the SID, as ldirectord's
 * `dbi:Oracle:sid=<database>;host=<rip>;port=<port>`; without a database, the listener's default service.
 */
export function oracleConnectString(job: Pick<CheckJob, 'address' | 'port' | 'database'>): string {
  const address = `(ADDRESS=(PROTOCOL=TCP)(HOST=${job.address})(PORT=${job.port}))`;
  const data = job.database === '' ? '' : `(CONNECT_DATA=(SID=${job.database}))`;
  return `(DESCRIPTION=${address}${data})`;
}

function oracleBody(db: typeof OracleDb): (job: CheckJob, signal: AbortSignal) => Promise<CheckVerdict> {
  return (job, signal) => {
    if (DESCRIPTOR_UNSAFE.test(job.database)) return Promise.resolve(fail('database (SID) contains ( ) = or spaces'));
    return new Promise<CheckVerdict>((resolve) => {
      let conn: OracleDb.Connection | undefined;
      let done = false;
      const close = (c: OracleDb.Connection): void => {
        c.break()
          .catch(() => undefined)
          .then(() => c.close())
          .catch(() => undefined);
      };
      const finish = (verdict: CheckVerdict): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        if (conn) close(conn);
        resolve(verdict);
      };
      const onAbort = (): void => finish(fail('timeout'));
      signal.addEventListener('abort', onAbort, { once: true });
      // node-oracledb takes whole seconds. A getConnection in flight when the signal aborts cannot be cancelled:
      // it lingers, holding its socket, until it completes or this timeout fires, then is closed.
      const seconds = Math.max(1, Math.ceil(job.negotiateTimeoutMs / 1000));
      db.getConnection({
        user: job.login,
        password: job.passwd,
        connectString: oracleConnectString(job),
        connectTimeout: seconds,
        transportConnectTimeout: seconds,
      }).then(
        async (c) => {
          // getConnection cannot be cancelled: a connection that arrives after the abort is closed at once.
          if (done) return close(c);
          conn = c;
          c.callTimeout = Math.max(1, job.negotiateTimeoutMs);
          try {
            const result = await c.execute(sqlQuery(job.request), [], { maxRows: 1 });
            finish(rowsVerdict(result.rows ? result.rows.length : (result.rowsAffected ?? 0)));
          } catch (err) {
            finish(fail(dbReason('query', err, signal)));
          }
        },
        (err: unknown) => finish(fail(oracleConnectReason(err, signal))),
      );
    });
  };
}

/**
 * node-oracledb reports connection failures as NJS-5xx errors whose message carries the socket error on a later line
 * (`connect ECONNREFUSED ...`); that errno becomes the usual short reason.
 */
function oracleConnectReason(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timeout';
  const code = (err as { code?: unknown }).code;
  if (code === 'NJS-510') return 'timeout';
  const message = err instanceof Error ? err.message : '';
  const errno = /\b(E[A-Z]{4,})\b/.exec(message)?.[1];
  if (code === 'NJS-503' && errno) return reasonOf(Object.assign(new Error(errno), { code: errno }));
  return dbReason('login', err, signal);
}

/**
 * Builds the Oracle checker over a driver loader: down with the {@link oracleSupport} reason when the driver is
 * missing; else as mysql/pgsql: log in as login/passwd to SID `database` at address:port, run `request` (leading `/`
 * removed), up when at least one row comes back; bounded by `negotiatetimeout`.
 */
export function createOracleCheck(load: OracleLoader = loadOracleDb): Checker {
  return sqlChecker((job, signal) => {
    const d = driver(load);
    if (!d.support.supported || !d.db)
      return Promise.resolve(fail(d.support.supported ? 'oracledb unavailable' : d.support.reason));
    return oracleBody(d.db)(job, signal);
  });
}

/** Oracle check (`service=oracle`) with the installed `oracledb` package; see {@link createOracleCheck}. */
export const oracleCheck: Checker = createOracleCheck();
