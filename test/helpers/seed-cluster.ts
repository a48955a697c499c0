// The seed cluster in miniature for kernel-tier daemon tests: an LVS-NAT lab (test/helpers/netns-lab.ts) with real
// servers serving HTTP and HTTPS, a fallback server, and the ldirectord.cf that balances them through the VIP.
import { LdirDirector, deleteServices } from './ldir-director';
import { buildNatLab, makeLabCertificate, type NatLab } from './netns-lab';

/** Real servers in the configuration at start (1-based lab indexes); their weight is their index. */
export const SEED_REALS = [1, 2, 3, 4, 5, 6] as const;
/** Lab index of a spare real server (added by reload tests). */
export const SPARE_REAL = 7;
/** Lab index of the fallback ("sorry") server of the HTTP virtual. */
export const FALLBACK_REAL = 8;
/** checkinterval of the seed configuration (s). */
export const CHECK_INTERVAL_S = 1;
/**
 * checktimeout and negotiatetimeout of the seed configuration (s). Small, but not 1: the emulated VM shares the
 * host's CPUs, and while an `ldir` command starts (seconds of CPU) a 1 s check of a healthy server times out now
 * and then, which would make kernel operations the scenarios must not see.
 */
export const CHECK_TIMEOUT_S = 2;
/**
 * negotiatetimeout of the HTTPS virtual (s). A TLS handshake costs both ends about 0.1 s of CPU in the emulated VM,
 * and the first one of a process about 1 s (root store loading, code compiled on first use).
 */
export const HTTPS_TIMEOUT_S = 3;

/** A built seed cluster: the lab, the `ldir` binary driver and the names of its two services. */
export interface SeedCluster {
  readonly lab: NatLab;
  readonly director: LdirDirector;
  readonly vip: string;
  /** `TCP VIP:80` as `ipvsadm -Ln` names it. */
  readonly http: string;
  /** `TCP VIP:443`. */
  readonly https: string;
  /** Address of real server `i` (lab index, 1-based). */
  realAddress(i: number): string;
  /** Lab namespace (= the name in its answers) of real server `i`. */
  realName(i: number): string;
  /** Kills daemons, deletes the two services, removes the lab and temp dir. Never throws. */
  teardown(): void;
}

/** Builds the lab (8 real-server namespaces serving HTTP on 80 and HTTPS on 443) and waits until all listen. */
export async function buildSeedCluster(prefix: string, net: number): Promise<SeedCluster> {
  const tls = makeLabCertificate();
  const lab = buildNatLab(prefix, FALLBACK_REAL, 80, { net, https: { port: 443, ...tls } });
  const director = new LdirDirector(`ldir-${prefix}-`);
  const http = `TCP ${lab.vip}:80`;
  const https = `TCP ${lab.vip}:443`;
  const cluster: SeedCluster = {
    lab,
    director,
    vip: lab.vip,
    http,
    https,
    realAddress: (i) => `10.${net}.${i}.2`,
    realName: (i) => `${prefix}r${i}`,
    teardown: () => {
      for (const step of [() => director.cleanup(), () => deleteServices([http, https]), () => lab.teardown()]) {
        try {
          step();
        } catch (err) {
          console.error(`teardown: ${String(err)}`);
        }
      }
    },
  };
  try {
    deleteServices([http, https]);
    await lab.ready();
  } catch (err) {
    cluster.teardown();
    throw err;
  }
  return cluster;
}

/** Settings of {@link seedConfig}. */
export interface SeedConfigOptions {
  /** Lab indexes of the HTTP virtual's reals (weight = index). Default {@link SEED_REALS}. */
  readonly httpReals?: readonly number[];
  /** Lab indexes of the HTTPS virtual's reals (weight = index). Default {@link SEED_REALS}. */
  readonly httpsReals?: readonly number[];
  /** quiescent of the HTTP virtual (default yes) and of the HTTPS one (default no). */
  readonly httpQuiescent?: boolean;
  readonly httpsQuiescent?: boolean;
  /** cleanstop of both virtuals; default yes. */
  readonly cleanstop?: boolean;
  /** Extra global lines, placed before the virtual sections. */
  readonly globals?: readonly string[];
  /** Extra lines at the end of the HTTP virtual section (tab-indented by the caller). */
  readonly httpExtra?: readonly string[];
}

const yn = (b: boolean): string => (b ? 'yes' : 'no');

/**
 * The ldirectord.cf of the seed cluster: `VIP:80` (negotiate http, wrr, fallback to the sorry server, quiescent=yes)
 * and `VIP:443` (negotiate https with {@link HTTPS_TIMEOUT_S}, wrr, quiescent=no), reals masq with weight = lab
 * index, checks every second.
 */
export function seedConfig(c: SeedCluster, logfile: string, o: SeedConfigOptions = {}): string {
  const reals = (indexes: readonly number[], port: number): string[] =>
    indexes.map((i) => `\treal=${c.realAddress(i)}:${port} masq ${i}`);
  return [
    `checkinterval=${CHECK_INTERVAL_S}`,
    `checktimeout=${CHECK_TIMEOUT_S}`,
    `negotiatetimeout=${CHECK_TIMEOUT_S}`,
    `logfile="${logfile}"`,
    ...(o.globals ?? []),
    '',
    `virtual=${c.vip}:80`,
    ...reals(o.httpReals ?? SEED_REALS, 80),
    `\tfallback=${c.realAddress(FALLBACK_REAL)}:80 masq`,
    '\tchecktype=negotiate',
    '\tservice=http',
    '\trequest="/"',
    '\treceive="hello from"',
    '\tscheduler=wrr',
    `\tquiescent=${yn(o.httpQuiescent ?? true)}`,
    `\tcleanstop=${yn(o.cleanstop ?? true)}`,
    ...(o.httpExtra ?? []),
    '',
    `virtual=${c.vip}:443`,
    ...reals(o.httpsReals ?? SEED_REALS, 443),
    '\tchecktype=negotiate',
    '\tservice=https',
    `\tnegotiatetimeout=${HTTPS_TIMEOUT_S}`,
    '\trequest="/"',
    '\treceive="hello from"',
    '\tscheduler=wrr',
    `\tquiescent=${yn(o.httpsQuiescent ?? false)}`,
    `\tcleanstop=${yn(o.cleanstop ?? true)}`,
    '',
  ].join('\n');
}

/** Weights as `ipvsadm -Ln` shows them for a service whose reals are `indexes` at their configured weight. */
export function expectedWeights(c: SeedCluster, indexes: readonly number[], port: number): Map<string, number> {
  return new Map(indexes.map((i) => [`${c.realAddress(i)}:${port}`, i]));
}

/** Prints a measured figure of a scenario (`figure: ...` in the test output), for the record. */
export function figure(text: string): void {
  console.log(`figure: ${text}`);
}

/**
 * Allowance for the emulated (TCG) VM on top of the time limits the configuration promises (ms); env
 * `LDIR_TCG_SLACK_MS` changes it. Everything in the guest runs 10-30 times slower than on hardware, and more when
 * the host is busy: with the host's two cores loaded by other work, a restored server's weight came back after
 * 3.7 s against 0.6-0.8 s on an idle host, so 3 s proved too tight for a shared CI machine. Kept under the engine's
 * 10 s resync interval. The latencies themselves are measured on hardware by `npm run bench:checks`.
 */
export const SLACK_MS = Number(process.env['LDIR_TCG_SLACK_MS'] ?? 5000);

/** A map as sorted `key=value` text, for readable assertions. */
export function mapText(m: ReadonlyMap<string, number> | undefined): string {
  return m
    ? [...m]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : '(absent)';
}
