// Strict validation of the destinations of a virtual: real server weights, thresholds, addresses and ports.
import type { FallbackServer, ForwardMethod, SourcePos, VirtualService } from '../model';
import type { DiagnosticSink } from './diagnostics';
import { describeUnusable, MAX_THRESHOLD, MAX_WEIGHT, unusableAddress } from './kernel-limits';
import type { StrictRule } from './strict-subject';

/** Identity of a directive's place (line and YAML column): several YAML list items share a line. */
function placeKey(pos: SourcePos): string {
  return `${pos.line}:${pos.column ?? 0}`;
}

/** `real` or `real6`, as the section's family wants it. */
function realDirective(virtual: VirtualService): string {
  return virtual.family === 'inet' ? 'real' : 'real6';
}

/** `a gate` or `an ipip`. */
function aForward(forward: ForwardMethod): string {
  return forward === 'ipip' ? 'an ipip' : `a ${forward}`;
}

/** Real server weight: the kernel takes 0..INT_MAX (a larger u32 reads as negative: ERANGE). */
const realWeight: StrictRule = ({ draft, virtual }, sink) => {
  for (const { line, pos } of draft.reals) {
    if (line.weight === undefined || line.weight <= MAX_WEIGHT) continue;
    sink.error(
      'invalid-value',
      pos,
      `real server weight ${line.weight} is too large: the kernel accepts 0..${MAX_WEIGHT}`,
      realDirective(virtual),
    );
  }
};

/**
 * Real server thresholds: each at most INT_MAX, and the lower one not above the upper one. The kernel refuses
 * `l > u` (ERANGE), and no `u:` means 0, so `l:` alone is refused too.
 */
const realThresholds: StrictRule = ({ draft, virtual }, sink) => {
  for (const { line, pos } of draft.reals) {
    const upper = line.upperThreshold ?? 0;
    const lower = line.lowerThreshold ?? 0;
    const directive = realDirective(virtual);
    if (upper > MAX_THRESHOLD)
      sink.error(
        'invalid-value',
        pos,
        `upper threshold u:${upper} is too large: the kernel accepts 0..${MAX_THRESHOLD}`,
        directive,
      );
    if (lower > MAX_THRESHOLD)
      sink.error(
        'invalid-value',
        pos,
        `lower threshold l:${lower} is too large: the kernel accepts 0..${MAX_THRESHOLD}`,
        directive,
      );
    if (upper > MAX_THRESHOLD || lower > MAX_THRESHOLD || lower <= upper) continue;
    sink.error(
      'invalid-value',
      pos,
      line.upperThreshold === undefined
        ? `lower threshold l:${lower} without an upper threshold: the kernel refuses a lower threshold above the upper one, and no u: means 0 (no limit); add u:N with N >= ${lower}, or remove l:`
        : `lower threshold l:${lower} is above the upper threshold u:${upper}: the kernel refuses it`,
      directive,
    );
  }
};

/** Real and fallback servers must be addresses the kernel takes as destinations (unicast, or this host's). */
const usableServerAddresses: StrictRule = ({ draft, virtual }, sink) => {
  const reported = new Set<string>();
  for (const r of virtual.reals) {
    const why = unusableAddress(r.address);
    if (why === undefined || reported.has(placeKey(r.source))) continue;
    reported.add(placeKey(r.source));
    sink.error(
      'invalid-value',
      r.source,
      `real server ${describeUnusable(r.address, why)}: the kernel refuses it as a destination`,
      realDirective(virtual),
    );
  }
  const own = draft.fallback === undefined ? undefined : virtual.fallback;
  if (own !== undefined) checkFallbackAddress(own, virtual.family, sink);
};

/** Records an error when a fallback server's address cannot be a destination. */
function checkFallbackAddress(f: FallbackServer, family: VirtualService['family'], sink: DiagnosticSink): void {
  const why = unusableAddress(f.address);
  if (why === undefined) return;
  sink.error(
    'invalid-value',
    f.source,
    `fallback server ${describeUnusable(f.address, why)}: the kernel refuses it as a destination`,
    family === 'inet' ? 'fallback' : 'fallback6',
  );
}

/**
 * The port the kernel uses for a gate or ipip destination of `virtual` written with `port`, when that differs from
 * it (direct routing and tunnelling cannot change ports: traffic keeps the virtual's port); undefined otherwise.
 */
function forcedPort(virtual: VirtualService, forward: ForwardMethod, port: number): number | undefined {
  const addressService = virtual.fwmark === undefined && virtual.protocol !== 'fwm';
  if (!addressService || forward === 'masq' || port === 0 || virtual.port === 0 || port === virtual.port)
    return undefined;
  return virtual.port;
}

/**
 * A gate or ipip real (or the virtual's own fallback) written with another port than the virtual's: the traffic
 * goes to the virtual's port (ipvsadm and the kernel cannot change it). A warning, not an error: the real's port
 * still is the port its check probes, which ldirectord configurations use on purpose.
 */
const gatePorts: StrictRule = ({ draft, virtual }, sink) => {
  const reported = new Set<string>();
  for (const r of virtual.reals) {
    const port = forcedPort(virtual, r.forward, r.port);
    if (port === undefined || reported.has(placeKey(r.source))) continue;
    reported.add(placeKey(r.source));
    sink.warn(
      'ignored-setting',
      r.source,
      `real server port ${r.port} is used by the check only: traffic goes to port ${port}, the virtual service's (${aForward(r.forward)} destination cannot change the port; masq can)`,
      realDirective(virtual),
    );
  }
  const own = draft.fallback === undefined ? undefined : virtual.fallback;
  const port = own === undefined ? undefined : forcedPort(virtual, own.forward, own.port);
  if (own !== undefined && port !== undefined) {
    sink.warn(
      'ignored-setting',
      own.source,
      `fallback port ${own.port} is not used: traffic goes to port ${port}, the virtual service's (${aForward(own.forward)} destination cannot change the port; masq can)`,
      virtual.family === 'inet' ? 'fallback' : 'fallback6',
    );
  }
};

/** The rules about a virtual's real and fallback servers, by name, in the order they run. */
export const SERVER_RULES: Readonly<Record<string, StrictRule>> = {
  realWeight,
  realThresholds,
  usableServerAddresses,
  gatePorts,
};

/**
 * Checks the global fallbacks once (not once per virtual that uses them): a usable address, and, for gate or ipip
 * with a port, a warning naming the services whose port the kernel uses instead. `users` are the virtual services
 * built; those whose fallback came from a global one share its `source`.
 */
export function checkGlobalFallbacks(
  fallbacks: readonly (FallbackServer | undefined)[],
  users: readonly VirtualService[],
  sink: DiagnosticSink,
): void {
  for (const f of fallbacks) {
    if (f === undefined) continue;
    const family = f.address.includes(':') ? 'inet6' : 'inet';
    checkFallbackAddress(f, family, sink);
    const moved = users
      .filter(
        (v) =>
          v.fallback !== undefined &&
          v.fallback.source === f.source &&
          forcedPort(v, v.fallback.forward, v.fallback.port) !== undefined,
      )
      .map((v) => v.id);
    if (moved.length === 0) continue;
    sink.warn(
      'ignored-setting',
      f.source,
      `fallback port ${f.port} is not used by ${moved.join(', ')}: their traffic keeps each service's own port (${aForward(f.forward)} destination cannot change the port; masq can)`,
      family === 'inet' ? 'fallback' : 'fallback6',
    );
  }
}
