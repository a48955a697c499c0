// The FRR driver of route health injection: `network P route-map LDIR-ANNOUNCE` statements in bgpd's default
// instance, read and changed through `vtysh` (one process per read, one per change).
import { ErrorCodes, LdirError } from '../errors';
import type { ProcessRunner } from '../process-runner';
import { FRR_ROUTE_MAP, frrCommands, parseFrrRunningConfig, type FrrBgpView } from './frr-config';
import type { RouteDriver } from './route-driver';

/** Bound on one vtysh run. */
export const FRR_TIMEOUT_MS = 5_000;

/** Options of {@link frrDriver}. */
export interface FrrDriverOptions {
  /** The directory of FRR's vty sockets (`vtysh --vty_socket`; Debian: /run/frr). */
  readonly socket: string;
  /** Runs vtysh (the daemon's process runner). */
  readonly run: ProcessRunner;
  /** The vtysh program (default `vtysh`, found on PATH). */
  readonly vtysh?: string;
  readonly timeoutMs?: number;
}

/**
 * A driver keeping bgpd's `network` statements marked with {@link FRR_ROUTE_MAP} equal to the announced set: each
 * change reads `show running-config bgpd`, then runs the difference in one vtysh call (bgpd sends the UPDATE at
 * once; the session is not reset). Rejects with LDIR_ERR_ANNOUNCE (the announcer retries) when vtysh cannot reach
 * bgpd, when there is no default `router bgp`, when a prefix is to be announced and frr.conf has no permit entry of
 * the route-map, or when vtysh refuses a command.
 */
export function frrDriver(options: FrrDriverOptions): RouteDriver {
  const vtysh = options.vtysh ?? 'vtysh';
  const where = `vtysh --vty_socket ${options.socket}`;
  const run = async (commands: readonly string[]): Promise<string> => {
    const argv = [vtysh, '--vty_socket', options.socket, ...commands.flatMap((c) => ['-c', c])];
    let outcome;
    try {
      outcome = await options.run({
        argv,
        timeoutMs: options.timeoutMs ?? FRR_TIMEOUT_MS,
        stdoutLimit: 1 << 20,
        stderrLimit: 8192,
      });
    } catch (err) {
      throw new LdirError(ErrorCodes.ANNOUNCE, `FRR: ${vtysh} cannot be run: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (outcome.exitCode !== 0) {
      const said = `${outcome.stderr}\n${outcome.stdout}`
        .trim()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(-3)
        .join('; ');
      const how = outcome.timedOut
        ? `no answer within ${options.timeoutMs ?? FRR_TIMEOUT_MS} ms`
        : `exit ${outcome.exitCode ?? outcome.signal}`;
      throw new LdirError(
        ErrorCodes.ANNOUNCE,
        `FRR (${where}) refused "${commands.join('; ')}": ${how}${said ? `: ${said}` : ''}`,
      );
    }
    return outcome.stdout;
  };
  const read = async (): Promise<FrrBgpView> => parseFrrRunningConfig(await run(['show running-config bgpd']));
  return {
    describe: `frr socket=${options.socket}`,
    announced: async () => {
      try {
        return [...(await read()).announced];
      } catch {
        return [];
      }
    },
    apply: async (prefixes) => {
      const view = await read();
      if (view.asn === undefined) {
        if (prefixes.length === 0) return; // no BGP instance: nothing is announced
        throw new LdirError(
          ErrorCodes.ANNOUNCE,
          `FRR (${where}): bgpd has no default "router bgp ASN" instance to announce in`,
        );
      }
      if (!view.routeMap && prefixes.some((p) => !view.announced.includes(p))) {
        throw new LdirError(
          ErrorCodes.ANNOUNCE,
          `FRR (${where}): frr.conf has no "route-map ${FRR_ROUTE_MAP} permit 10"; bgpd would deny every prefix ldir announces`,
        );
      }
      const commands = frrCommands(view.asn, view.announced, prefixes);
      if (commands.length > 0) await run(commands);
    },
  };
}
