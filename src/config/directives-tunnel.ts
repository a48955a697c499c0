// Tunnels (an ldir extension): `tunnelport=` and `tunnelflags=` of a virtual section, the values a real server line
// may override them with, and the tunnel settings each real server ends up with.
import type { ForwardMethod, RealServer, TunnelFlags } from '../model';
import { TUNNEL_FLAGS, TUNNEL_METHODS } from '../model';
import { fail, ok, readBoundedInteger, valueText, type ValueResult } from './cf-values';
import { accept, type DirectiveHandler } from './directives-shared';
import type { RealLine } from './real-line';
import type { VirtualDraft } from './settings';
import { listWords } from './strict-subject';

/** Reads a GUE port (`tunnelport=`, or the real's own): 1..65535, digits only. */
export function readTunnelPort(text: string): ValueResult<number> {
  return readBoundedInteger(text, 'tunnelport', 1, 65535);
}

/** Reads a checksum mode (`tunnelflags=`, or the real's own): `nocsum`, `csum` or `remcsum`. */
export function readTunnelFlags(text: string): ValueResult<TunnelFlags> {
  const word = text.trim();
  return (TUNNEL_FLAGS as readonly string[]).includes(word)
    ? ok(word as TunnelFlags)
    : fail(`tunnelflags must be ${listWords(TUNNEL_FLAGS, 'or')}, not "${word}"`);
}

/** True for the tunnelling methods (ipip, gue, gre): the only ones that may cross address families. */
export function isTunnelMethod(forward: ForwardMethod): boolean {
  return TUNNEL_METHODS.includes(forward);
}

/** Handlers of the tunnel directives of a virtual section. */
export const TUNNEL_DIRECTIVES: Readonly<Record<string, DirectiveHandler<VirtualDraft>>> = {
  tunnelport: (d, v, ctx) => {
    const port = accept(d, readTunnelPort(valueText(d)), ctx);
    if (port !== undefined) v.tunnelport = { value: port, pos: d.pos };
  },
  tunnelflags: (d, v, ctx) => {
    const flags = accept(d, readTunnelFlags(valueText(d)), ctx);
    if (flags !== undefined) v.tunnelflags = { value: flags, pos: d.pos };
  },
};

/**
 * The tunnel settings a real server written as `line` in virtual section `v` has in the model: its own values, else
 * the section's. A `gue` real gets its port (absent when neither gives one: strict validation reports it) and its
 * checksum mode (default `nocsum`, the kernel's), a `gre` real its checksum mode, the others nothing.
 */
export function realTunnel(line: RealLine, v: VirtualDraft): Pick<RealServer, 'tunnelPort' | 'tunnelFlags'> {
  if (line.forward !== 'gue' && line.forward !== 'gre') return {};
  const port = line.forward === 'gue' ? (line.tunnelPort ?? v.tunnelport?.value) : undefined;
  return {
    ...(port !== undefined ? { tunnelPort: port } : {}),
    tunnelFlags: line.tunnelFlags ?? v.tunnelflags?.value ?? 'nocsum',
  };
}
