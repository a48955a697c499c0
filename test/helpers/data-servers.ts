// Test helpers: real Debian data servers (slapd, MariaDB, PostgreSQL, FreeRADIUS) run in the foreground on 127.0.0.1 with data in a temp dir.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './system';

/** A server started for a test: where it listens, and how to stop it (process killed, temp dir removed). */
export interface DataServer {
  readonly port: number;
  /** Second port, when the server has one (ldaps). */
  readonly tlsPort?: number;
  /** The self-signed certificate the TLS port presents (PEM). */
  readonly certPem?: string;
  /** Another self-signed certificate, which signed nothing the server presents (a wrong CA). */
  readonly otherCaPem?: string;
  stop(): Promise<void>;
}

/** slapd: a {@link DataServer} with its ldaps port and certificates. */
export type SlapdServer = DataServer & {
  readonly tlsPort: number;
  readonly certPem: string;
  readonly otherCaPem: string;
};

/** A child process whose output is kept (last 4 KiB) for error messages. */
interface Daemon {
  readonly child: ChildProcess;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

function startDaemon(cmd: string, args: readonly string[], options: SpawnOptions = {}): Daemon {
  const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', (err) => {
    out += `\n${err.message}`;
    exited = true;
  });
  return {
    child,
    output: () => out,
    exited: () => exited,
    async stop() {
      if (exited || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Waits (bounded) until `ready()` or the daemon exits, which is an error carrying its output. */
async function waitReady(d: Daemon, what: string, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (d.exited()) throw new Error(`${what} exited: ${d.output().trim().split('\n').slice(-5).join(' | ')}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms: ${d.output().trim().split('\n').slice(-5).join(' | ')}`);
}

const tcpReady = (port: number) => (): Promise<boolean> =>
  waitForPort(port, '127.0.0.1', 1).then(
    () => true,
    () => false,
  );

/** Runs `body` with a fresh temp dir that is removed (with whatever runs) if starting fails. */
async function withTempDir<S extends DataServer>(
  prefix: string,
  body: (dir: string, cleanup: (d?: Daemon) => Promise<void>) => Promise<S>,
): Promise<S> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let daemon: Daemon | undefined;
  const cleanup = async (d?: Daemon): Promise<void> => {
    await (d ?? daemon)?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return await body(dir, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Test entries of the LDAP directory. */
export const LDAP = { suffix: 'dc=example,dc=org', user: 'cn=reader,dc=example,dc=org', password: 'readerpw' } as const;

/** Starts slapd (mdb database in a temp dir, one organisation and one person) on ldap:// and ldaps:// (self-signed). */
export function startSlapd(): Promise<SlapdServer> {
  return withTempDir('ldir-slapd-', async (dir, cleanup) => {
    const [port, tlsPort] = [await freePort(), await freePort()];
    const selfSigned = (name: string): void => {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, `${name}-key.pem`),
          '-out',
          join(dir, `${name}.pem`),
          '-subj',
          '/CN=127.0.0.1',
          '-days',
          '2',
        ],
        { stdio: 'ignore' },
      );
    };
    selfSigned('cert');
    selfSigned('other');
    mkdirSync(join(dir, 'db'));
    const conf = join(dir, 'slapd.conf');
    writeFileSync(
      conf,
      [
        'include /etc/ldap/schema/core.schema',
        'include /etc/ldap/schema/cosine.schema',
        `pidfile ${dir}/slapd.pid`,
        `argsfile ${dir}/slapd.args`,
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        `TLSCertificateFile ${dir}/cert.pem`,
        `TLSCertificateKeyFile ${dir}/cert-key.pem`,
        'database mdb',
        'maxsize 10485760',
        `suffix "${LDAP.suffix}"`,
        `rootdn "cn=admin,${LDAP.suffix}"`,
        'rootpw adminpw',
        `directory ${dir}/db`,
        'access to * by * read',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'data.ldif'),
      [
        `dn: ${LDAP.suffix}`,
        'objectClass: dcObject',
        'objectClass: organization',
        'dc: example',
        'o: Example',
        '',
        `dn: ${LDAP.user}`,
        'objectClass: person',
        'cn: reader',
        'sn: Reader',
        `userPassword: ${LDAP.password}`,
        '',
      ].join('\n'),
    );
    execFileSync('slapadd', ['-f', conf, '-l', join(dir, 'data.ldif')], { stdio: 'pipe' });
    const d = startDaemon('slapd', [
      '-d',
      '0',
      '-f',
      conf,
      '-h',
      `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`,
    ]);
    await waitReady(d, 'slapd', async () => (await tcpReady(port)()) && tcpReady(tlsPort)());
    const certPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const otherCaPem = readFileSync(join(dir, 'other.pem'), 'utf8');
    return { port, tlsPort, certPem, otherCaPem, stop: () => cleanup(d) };
  });
}

/** The SQL account, database and table the SQL servers are set up with (table `t` holds one row). */
export const SQL = { user: 'ldir', password: 'ldirpw', database: 'ldirdb' } as const;

/** Starts MariaDB (fresh datadir) on 127.0.0.1 with user `ldir` (password) allowed to read `ldirdb.t`. */
export function startMariadb(): Promise<DataServer> {
  return withTempDir('ldir-mariadb-', async (dir, cleanup) => {
    const port = await freePort();
    const user = process.getuid?.() === 0 ? ['--user=root'] : [];
    execFileSync(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${dir}/data`, ...user, '--auth-root-authentication-method=socket', '--skip-test-db'],
      { stdio: 'pipe' },
    );
    const socket = join(dir, 'mysqld.sock');
    const d = startDaemon('mariadbd', [
      '--no-defaults',
      `--datadir=${dir}/data`,
      ...user,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${dir}/mariadbd.pid`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--skip-name-resolve',
    ]);
    await waitReady(d, 'mariadbd', async () => existsSync(socket) && tcpReady(port)());
    execFileSync(
      'mariadb',
      [
        '--no-defaults',
        '-S',
        socket,
        '-u',
        'root',
        '-e',
        [
          `CREATE USER '${SQL.user}'@'%' IDENTIFIED BY '${SQL.password}'`,
          `CREATE DATABASE ${SQL.database}`,
          `CREATE TABLE ${SQL.database}.t (id INT)`,
          `INSERT INTO ${SQL.database}.t VALUES (1)`,
          `GRANT SELECT ON ${SQL.database}.* TO '${SQL.user}'@'%'`,
        ].join('; '),
      ],
      { stdio: 'pipe' },
    );
    return { port, stop: () => cleanup(d) };
  });
}

/** The newest PostgreSQL server binaries directory, e.g. /usr/lib/postgresql/15/bin. */
function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL server in /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/**
 * Starts PostgreSQL (initdb in a temp dir; as the `postgres` user when we are root, since it refuses root) on
 * 127.0.0.1 with SCRAM password authentication over TCP and role `ldir` owning database `ldirdb` with table `t`.
 */
export function startPostgres(): Promise<DataServer> {
  return withTempDir('ldir-pgsql-', async (dir, cleanup) => {
    const port = await freePort();
    let ids: { uid: number; gid: number } | undefined;
    if (process.getuid?.() === 0) {
      ids = {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
      };
      chmodSync(dir, 0o755);
      chownSync(dir, ids.uid, ids.gid);
    }
    const bin = pgBin();
    execFileSync(
      `${bin}/initdb`,
      [
        '-D',
        `${dir}/data`,
        '-U',
        'postgres',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--no-sync',
        '-E',
        'UTF8',
      ],
      { stdio: 'pipe', ...ids },
    );
    const d = startDaemon(
      `${bin}/postgres`,
      [
        '-D',
        `${dir}/data`,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'password_encryption=scram-sha-256',
      ],
      { ...ids },
    );
    await waitReady(d, 'postgres', async () => (await tcpReady(port)()) && existsSync(join(dir, `.s.PGSQL.${port}`)));
    const psql = (db: string, sql: string): void => {
      execFileSync(
        'psql',
        ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql],
        { stdio: 'pipe' },
      );
    };
    // Ready for TCP is not quite ready for queries: retry the first statement briefly.
    for (let i = 0; ; i++) {
      try {
        psql('postgres', `CREATE ROLE ${SQL.user} LOGIN PASSWORD '${SQL.password}'`);
        break;
      } catch (err) {
        if (i >= 30) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    psql('postgres', `CREATE DATABASE ${SQL.database} OWNER ${SQL.user}`);
    psql(SQL.database, `CREATE TABLE t (id int); INSERT INTO t VALUES (1); GRANT SELECT ON t TO ${SQL.user}`);
    return { port, stop: () => cleanup(d) };
  });
}

/** The RADIUS client secret and the one user of the FreeRADIUS users file. */
export const RADIUS = { secret: 's3cret', user: 'alice', password: 'alicepw' } as const;

/**
 * Starts FreeRADIUS (`-X`, a minimal radiusd.conf in a temp dir: files + pap, no reject delay, client 127.0.0.1
 * that must send Message-Authenticator) listening for auth on 127.0.0.1 UDP.
 */
export function startFreeradius(): Promise<DataServer> {
  return withTempDir('ldir-radius-', async (dir, cleanup) => {
    const port = await freePort();
    writeFileSync(join(dir, 'users'), `${RADIUS.user} Cleartext-Password := "${RADIUS.password}"\n`);
    writeFileSync(
      join(dir, 'radiusd.conf'),
      `
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = ${dir}
raddbdir = ${dir}
radacctdir = ${dir}
name = radiusd
confdir = ${dir}
modconfdir = ${dir}
run_dir = ${dir}
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/radiusd.pid
max_request_time = 5
hostname_lookups = no
security {
  allow_core_dumps = no
  reject_delay = 0
  status_server = no
}
log {
  destination = stderr
}
client local {
  ipaddr = 127.0.0.1
  secret = ${RADIUS.secret}
  require_message_authenticator = yes
}
modules {
  files {
    filename = ${dir}/users
  }
  pap {
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = ${port}
  }
  authorize {
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
}
`,
    );
    const d = startDaemon('freeradius', ['-X', '-d', dir, '-n', 'radiusd']);
    await waitReady(d, 'freeradius', async () => d.output().includes('Ready to process requests'));
    return { port, stop: () => cleanup(d) };
  });
}
