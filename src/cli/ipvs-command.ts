// `ldir ipvs [--ipvs=auto|netlink|ipvsadm|memory] list|info [--json]`: the kernel table as ldir sees it.
import { isLdirError } from '../errors';
import { normalizeObserved, serviceKeyString } from '../ipvs/normalize';
import { BACKEND_CHOICES, selectBackend, type BackendChoice, type BackendFactories } from '../ipvs/select';
import type { ObservedService } from '../ipvs/types';
import { ExitCode } from './exit-codes';
import type { CliIo } from './io';

/** Options of {@link runIpvs}. */
export interface IpvsCommandOptions {
  readonly backend: BackendChoice;
  readonly action: 'list' | 'info';
  readonly json: boolean;
  readonly factories?: BackendFactories;
}

const FORWARD_NAMES: Record<string, string> = { masq: 'Masq', route: 'Route', tunnel: 'Tunnel', local: 'Local' };

/** Renders a table the way `ipvsadm -Ln` lays it out. */
export function formatTable(table: readonly ObservedService[]): string {
  const lines = [
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const { service: s, destinations } of normalizeObserved(table)) {
    const id = serviceKeyString(s).replace(
      /^(\w+):/,
      (_, p: string) => `${p.toUpperCase().replace(/^FWM6?$/, 'FWM')}  `,
    );
    const flags = [
      s.persistent !== undefined ? `persistent ${s.persistent}${s.netmask ? ` mask ${s.netmask}` : ''}` : '',
      s.onePacket ? 'ops' : '',
      s.schedulerFlags.length ? `(${s.schedulerFlags.join(',')})` : '',
      s.persistenceEngine ? `pe ${s.persistenceEngine}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    lines.push(`${id} ${s.scheduler}${flags ? ` ${flags}` : ''}`);
    for (const d of destinations) {
      const addr = d.family === 'inet6' ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
      lines.push(
        `  -> ${addr.padEnd(28)} ${(FORWARD_NAMES[d.forward] ?? d.forward).padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.activeConns).padEnd(10)} ${d.inactiveConns}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Lists the kernel table or its IPVS version through the chosen backend. */
export async function runIpvs(options: IpvsCommandOptions, io: CliIo): Promise<number> {
  let selection;
  try {
    selection = await selectBackend(options.backend, options.factories);
  } catch (err) {
    if (!isLdirError(err)) throw err;
    io.stderr(`ldir: ${err.message}\n`);
    return ExitCode.FAILURE;
  }
  const { backend } = selection;
  try {
    if (options.action === 'info') {
      const info = await backend.info();
      io.stdout(
        options.json
          ? `${JSON.stringify({ backend: backend.kind, ...info })}\n`
          : `IPVS ${info.version} (connection table ${info.connTableSize}) through ${backend.kind}\n`,
      );
      return ExitCode.OK;
    }
    const table = await backend.list();
    io.stdout(
      options.json
        ? `${JSON.stringify(normalizeObserved(table), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`
        : formatTable(table),
    );
    return ExitCode.OK;
  } finally {
    await backend.close();
  }
}

/** Parses `ldir ipvs` arguments. */
export function parseIpvsArgs(args: readonly string[]): IpvsCommandOptions | string {
  let backend: BackendChoice = 'auto';
  let action: 'list' | 'info' = 'list';
  let json = false;
  for (const a of args) {
    if (a.startsWith('--ipvs=')) {
      const v = a.slice(7);
      if (!(BACKEND_CHOICES as readonly string[]).includes(v))
        return `--ipvs must be one of ${BACKEND_CHOICES.join(', ')}`;
      backend = v as BackendChoice;
    } else if (a === '--json') json = true;
    else if (a === 'list' || a === 'info') action = a;
    else return `unknown argument for ipvs: ${a}`;
  }
  return { backend, action, json };
}
