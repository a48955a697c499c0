// Real Debian mail and FTP servers for loopback tests: OpenSMTPD, Dovecot (IMAP/POP3 with TLS) and vsftpd, each run
// in the foreground on 127.0.0.1 with a configuration in a temporary directory, and stopped by process group.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './system';

/** Debian packages the servers come from. */
export const MAIL_FTP_PACKAGES = ['opensmtpd', 'dovecot-imapd', 'dovecot-pop3d', 'vsftpd', 'openssl'] as const;

/** The mailbox user Dovecot knows, and its password. */
export const MAIL_USER = { login: 'ldir', passwd: 'Sec"ret\\ 1' } as const;

/** File the FTP server offers at its root, and its content. */
export const FTP_FILE = { name: 'health.txt', content: 'ldir ftp check: all good\n' } as const;

/** Running servers: ports on 127.0.0.1, the PEM certificate they present, and a way to stop them all. */
export interface MailFtpServers {
  readonly smtp: number;
  readonly imap: number;
  readonly imaps: number;
  readonly pop3: number;
  readonly pop3s: number;
  readonly ftp: number;
  /** The servers' self-signed certificate (a CA that verifies them). */
  readonly cert: string;
  /** Another self-signed certificate (a CA that does not verify them). */
  readonly otherCert: string;
  /** Stops every server (SIGTERM, then SIGKILL) and removes the temporary directory. */
  stop(): Promise<void>;
}

/** A server process started by {@link run}, with the last 4,000 characters it wrote. */
export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  output: string;
}

/** Starts `command` as the leader of its own process group in `cwd`, keeping the end of its output. */
export function run(name: string, command: string, args: readonly string[], cwd: string): Daemon {
  // detached: each server leads its own process group, so stop() reaches its worker processes too.
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const daemon: Daemon = { name, child, output: '' };
  const keep = (chunk: Buffer): void => {
    daemon.output = (daemon.output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(String(err))));
  return daemon;
}

/** Stops a {@link run} process group: SIGTERM, SIGKILL after 3 s; resolves once it exited. */
export async function stopDaemon(d: Daemon): Promise<void> {
  const pid = d.child.pid;
  if (pid === undefined || d.child.exitCode !== null || d.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => d.child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), 3000);
    }),
  ]);
  if (timer) clearTimeout(timer);
  if (killed) {
    signal('SIGKILL');
    await exited;
  }
}

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = spawnSync(
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
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  chmodSync(key, 0o644);
  return { cert, key };
}

/** True when this process may make a mount namespace (OpenSMTPD then gets private /run and spool directories). */
export function canUnshare(): boolean {
  return spawnSync('unshare', ['-m', 'true'], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs OpenSMTPD in the foreground (`smtpd -d`) on configuration `conf`. Where a mount namespace can be made, it gets
 * private tmpfs over /run (its control socket) and /var/spool/smtpd (its queue), so it runs beside any other instance
 * and leaves the host's directories alone.
 */
export function runSmtpd(conf: string, cwd: string): Daemon {
  const smtpd = ['smtpd', '-d', '-f', conf];
  return canUnshare()
    ? run(
        'opensmtpd',
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          // The spool directory may not exist yet (the package's postinst makes it only when it starts the service).
          'mkdir -p /var/spool/smtpd && mount -t tmpfs -o mode=755 ldir-run /run && mount -t tmpfs -o mode=711 ldir-spool /var/spool/smtpd && exec "$@"',
          'sh',
          ...smtpd,
        ],
        cwd,
      )
    : run('opensmtpd', smtpd[0] as string, smtpd.slice(1), cwd);
}

/**
 * Starts OpenSMTPD, Dovecot and vsftpd on free ports of 127.0.0.1 and waits until they accept connections. Throws
 * (after stopping whatever started) when one does not come up, with its output.
 */
export async function startMailFtpServers(): Promise<MailFtpServers> {
  const dir = mkdtempSync(join(tmpdir(), 'ldir-mailftp-'));
  chmodSync(dir, 0o755); // Dovecot's unprivileged processes read the passwd-file and certificates here.
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    // LDIR_DEBUG_SERVERS=1 prints what each server logged (Dovecot logs every login) when the servers stop.
    if (process.env['LDIR_DEBUG_SERVERS']) for (const d of daemons) console.error(`--- ${d.name}\n${d.output}`);
    await Promise.all(daemons.map(stopDaemon));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = { smtp: 0, imap: 0, imaps: 0, pop3: 0, pop3s: 0, ftp: 0, pasv: 0 };
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    const tls = selfSigned(dir, 'ldir-test-server');
    const other = selfSigned(dir, 'ldir-test-other');

    writeFileSync(
      join(dir, 'smtpd.conf'),
      [`listen on 127.0.0.1 port ${ports.smtp}`, 'match from any for any reject', ''].join('\n'),
    );
    daemons.push(runSmtpd(join(dir, 'smtpd.conf'), dir));

    mkdirSync(join(dir, 'mail'), { mode: 0o777 });
    chmodSync(join(dir, 'mail'), 0o777); // the mail user (nobody) creates its home here
    writeFileSync(join(dir, 'users'), `${MAIL_USER.login}:{PLAIN}${MAIL_USER.passwd}\n`, { mode: 0o644 });
    writeFileSync(
      join(dir, 'dovecot.conf'),
      `
protocols = imap pop3
listen = 127.0.0.1
base_dir = ${dir}/dovecot-run
state_dir = ${dir}/dovecot-state
instance_name = ldir-test-${ports.imap}
log_path = /dev/stderr
ssl = yes
ssl_cert = <${tls.cert}
ssl_key = <${tls.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=${dir}/mail/%u
}
# No growing delays after the wrong-password cases (Dovecot's per-IP authentication penalty).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  inet_listener imap {
    port = ${ports.imap}
  }
  inet_listener imaps {
    port = ${ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = ${ports.pop3}
  }
  inet_listener pop3s {
    port = ${ports.pop3s}
    ssl = yes
  }
}
`,
    );
    daemons.push(run('dovecot', 'dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], dir));

    mkdirSync(join(dir, 'ftp'), { mode: 0o755 });
    mkdirSync(join(dir, 'ftp-empty'), { mode: 0o755 });
    writeFileSync(join(dir, 'ftp', FTP_FILE.name), FTP_FILE.content, { mode: 0o644 });
    writeFileSync(
      join(dir, 'vsftpd.conf'),
      [
        'listen=YES',
        'listen_ipv6=NO',
        'listen_address=127.0.0.1',
        `listen_port=${ports.ftp}`,
        'background=NO',
        'anonymous_enable=YES',
        'no_anon_password=YES',
        `anon_root=${dir}/ftp`,
        'local_enable=NO',
        'write_enable=NO',
        'pasv_enable=YES',
        'pasv_address=127.0.0.1',
        `pasv_min_port=${ports.pasv}`,
        `pasv_max_port=${ports.pasv}`,
        'connect_from_port_20=NO',
        `secure_chroot_dir=${dir}/ftp-empty`,
        'seccomp_sandbox=NO',
        'xferlog_enable=NO',
        'ftp_username=ftp',
        '',
      ].join('\n'),
    );
    daemons.push(run('vsftpd', 'vsftpd', [join(dir, 'vsftpd.conf')], dir));

    const waits: [Daemon, number][] = [
      [daemons[0] as Daemon, ports.smtp],
      [daemons[1] as Daemon, ports.imap],
      [daemons[1] as Daemon, ports.imaps],
      [daemons[1] as Daemon, ports.pop3],
      [daemons[1] as Daemon, ports.pop3s],
      [daemons[2] as Daemon, ports.ftp],
    ];
    for (const [daemon, port] of waits) {
      const died = new Promise<never>((_, reject) =>
        daemon.child.once('exit', (code, sig) =>
          reject(new Error(`${daemon.name} exited (${code ?? sig}): ${daemon.output.trim()}`)),
        ),
      );
      died.catch(() => undefined);
      await Promise.race([waitForPort(port, '127.0.0.1', 15_000), died]).catch((err: unknown) => {
        throw new Error(
          `${daemon.name} on port ${port}: ${err instanceof Error ? err.message : String(err)}\n${daemon.output.trim()}`,
        );
      });
    }
    return { ...ports, cert: readFileSync(tls.cert, 'utf8'), otherCert: readFileSync(other.cert, 'utf8'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
