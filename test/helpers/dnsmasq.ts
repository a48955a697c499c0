// A real DNS server for the dns check: Debian's dnsmasq in the foreground on 127.0.0.1 (UDP and TCP on one port),
// answering from the records the test gives it and for nothing else (no upstream server, no /etc/hosts).
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './system';

/** Records of the zone: A (and the matching PTR) per host, CNAMEs; names under `domain` not listed are NXDOMAIN. */
export interface DnsmasqZone {
  /** Domain answered locally only: `ldir.test`. */
  readonly domain: string;
  /** Host name → IPv4 address (dnsmasq's `host-record`: an A record and its PTR). */
  readonly hosts: Readonly<Record<string, string>>;
  /** Alias → target (dnsmasq's `cname`). */
  readonly cnames?: Readonly<Record<string, string>>;
}

/** A running dnsmasq. */
export interface Dnsmasq {
  readonly port: number;
  /** What it logged (every query and its answer). */
  log(): string;
  /** SIGTERM; resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts dnsmasq on a free port of 127.0.0.1 for `zone`; rejects with its output when it does not come up. */
export async function startDnsmasq(zone: DnsmasqZone): Promise<Dnsmasq> {
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      `--local=/${zone.domain}/`,
      '--pid-file',
      '--log-facility=-',
      '--log-queries',
      ...Object.entries(zone.hosts).map(([name, address]) => `--host-record=${name},${address}`),
      ...Object.entries(zone.cnames ?? {}).map(([alias, target]) => `--cname=${alias},${target}`),
    ];
    const child: ChildProcess = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer): void => {
      output = (output + c.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const died = exited.then(() => {
      throw new Error(`dnsmasq exited: ${output.trim()}`);
    });
    died.catch(() => undefined);
    try {
      await Promise.race([waitForPort(port, '127.0.0.1', 10_000), died]);
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      child.kill('SIGKILL');
      await exited;
      continue; // the UDP port was taken, most likely: another port
    }
    return {
      port,
      log: () => output,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
  }
  throw new Error(`dnsmasq did not start: ${lastError}`);
}
