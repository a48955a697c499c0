// Strict validation of tunnels: GUE ports, checksum modes where the kernel and ipvsadm take them, tunnel options that
// nothing would use, and real servers of the other address family beside connection synchronisation.
import type { AddressFamily } from '../model';
import type { DiagnosticSink } from './diagnostics';
import type { RealEntry, SyncDraft, VirtualDraft } from './settings';
import { lineOf, listWords, type StrictRule } from './strict-subject';

/** `real` or `real6`, as the entry was written. */
function keyword(entry: RealEntry): string {
  return entry.family === 'inet' ? 'real' : 'real6';
}

/** `IPv4` or `IPv6`. */
function familyName(family: AddressFamily): string {
  return family === 'inet' ? 'IPv4' : 'IPv6';
}

/** Where `entries` were written, for a message (`line 3`, `lines 3 and 5`). */
function lines(entries: readonly RealEntry[]): string {
  const numbers = [...new Set(entries.map((e) => String(e.pos.line)))];
  return `line${numbers.length > 1 ? 's' : ''} ${listWords(numbers)}`;
}

/**
 * The kernel refuses a GUE destination without a port (EINVAL): every gue real needs one, its own or the section's
 * (a section's `tunnelport` that could not be read has its own error already).
 */
const gueTunnelPort: StrictRule = ({ draft }, sink) => {
  if (draft.written.has('tunnelport')) return;
  for (const entry of draft.reals) {
    if (entry.line.forward !== 'gue' || entry.line.tunnelPort !== undefined) continue;
    sink.error(
      'invalid-value',
      entry.pos,
      'a gue real server needs the UDP port its GUE decapsulation listens on (ip fou add port PORT gue): set tunnelport= in the virtual section, or on this real server',
      keyword(entry),
    );
  }
};

/**
 * A real server's own tunnel options where its method has no such option: `tunnelport` on anything but gue,
 * `tunnelflags` on anything but gue and gre, `remcsum` on gre (remote checksum offload is GUE's; ipvsadm refuses it
 * and the kernel ignores it). Errors: the director would not do what the line says.
 */
const realTunnelOptions: StrictRule = ({ draft }, sink) => {
  for (const entry of draft.reals) {
    const { forward, tunnelPort, tunnelFlags } = entry.line;
    if (tunnelPort !== undefined && forward !== 'gue') {
      sink.error(
        'invalid-value',
        entry.pos,
        `tunnelport=${tunnelPort} is for gue real servers; this one forwards with ${forward}: it would be ignored`,
        keyword(entry),
      );
    }
    if (tunnelFlags !== undefined && forward !== 'gue' && forward !== 'gre') {
      sink.error(
        'invalid-value',
        entry.pos,
        `tunnelflags=${tunnelFlags} is for gue and gre real servers; this one forwards with ${forward}: it would be ignored`,
        keyword(entry),
      );
    } else if (tunnelFlags === 'remcsum' && forward === 'gre') {
      sink.error(
        'invalid-value',
        entry.pos,
        'tunnelflags=remcsum (remote checksum offload) is for gue real servers only; a gre real server takes nocsum or csum',
        keyword(entry),
      );
    }
  }
};

/**
 * The section's `tunnelport` and `tunnelflags`: `remcsum` reaching a gre real is an error (as on the real itself);
 * a value that no real server takes (no gue real for the port, no gue or gre real for the checksums, or every one
 * overriding it) is a warning.
 */
const virtualTunnelOptions: StrictRule = (subject, sink) => {
  const { draft } = subject;
  const port = draft.tunnelport;
  if (port !== undefined && !draft.reals.some((e) => e.line.forward === 'gue' && e.line.tunnelPort === undefined)) {
    sink.warn(
      'ignored-setting',
      lineOf(subject, 'tunnelport'),
      `tunnelport=${port.value} is not used: no gue real server of this virtual service takes it`,
      'tunnelport',
    );
  }
  const flags = draft.tunnelflags;
  if (flags === undefined) return;
  const takers = draft.reals.filter(
    (e) => (e.line.forward === 'gue' || e.line.forward === 'gre') && e.line.tunnelFlags === undefined,
  );
  const gre = takers.filter((e) => e.line.forward === 'gre');
  if (flags.value === 'remcsum' && gre.length > 0) {
    sink.error(
      'invalid-value',
      lineOf(subject, 'tunnelflags'),
      `tunnelflags=remcsum (remote checksum offload) is for gue only, but applies to the gre real server${gre.length > 1 ? 's' : ''} at ${lines(gre)}: give ${gre.length > 1 ? 'them' : 'it'} tunnelflags=nocsum or csum`,
      'tunnelflags',
    );
  } else if (takers.length === 0) {
    sink.warn(
      'ignored-setting',
      lineOf(subject, 'tunnelflags'),
      `tunnelflags=${flags.value} is not used: no gue or gre real server of this virtual service takes it`,
      'tunnelflags',
    );
  }
};

/** The tunnel rules of a virtual service, by name, in the order they run. */
export const TUNNEL_RULES: Readonly<Record<string, StrictRule>> = {
  gueTunnelPort,
  realTunnelOptions,
  virtualTunnelOptions,
};

/**
 * Real servers of another address family than their virtual service with connection synchronisation configured:
 * the kernel refuses such a destination while a sync daemon runs, and refuses to start a sync daemon while one
 * exists (EINVAL both ways). An error at each such real line.
 */
export function checkMixedFamiliesWithSync(
  virtuals: readonly VirtualDraft[],
  sync: SyncDraft | undefined,
  sink: DiagnosticSink,
): void {
  const syncAt = sync?.interface?.pos;
  if (syncAt === undefined) return;
  for (const v of virtuals) {
    for (const entry of v.reals.filter((e) => e.family !== v.family)) {
      sink.error(
        'invalid-value',
        entry.pos,
        `an ${familyName(entry.family)} real server in an ${familyName(v.family)} virtual service cannot be used with connection synchronisation (syncinterface at line ${syncAt.line}): the kernel refuses destinations of another family than their service while a sync daemon runs`,
        keyword(entry),
      );
    }
  }
}
