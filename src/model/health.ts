// The health vocabulary every layer shares: what the checks decide, what the engine acts on, what alerts, metrics
// and the status report show, and how a (virtual service, real server) pair is named in their maps.

/** Health of a real server as the checks see it. */
export type Health = 'up' | 'down' | 'unknown';

/** A change of health of one (virtual service, real server) pair. */
export interface HealthTransition {
  readonly virtualId: string;
  readonly realKey: string;
  readonly identity: string;
  readonly from: Health;
  readonly to: Health;
  /** Reason of the check that caused the change (`refused`, `timeout`, `maintenance`, `checktype on`, ...). */
  readonly reason: string;
  /** Epoch milliseconds of the change. */
  readonly at: number;
  /** Epoch milliseconds at which the deciding check started. */
  readonly checkStartedAt: number;
  readonly durationMs: number;
  readonly consecutiveFailures: number;
}

/** `address:port`, IPv6 in brackets: how a real server is named inside its virtual service. */
export function realKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Key of a (virtual, real) pair in every map of checks, health, weights, alerts and metrics: `<virtualId> <realKey>`
 * (a virtual id and a real key never contain a space). The one pair key of the code base; {@link splitPairKey} reads
 * it back. It also keys the hand settings and slow-start ramps a daemon hands over to its successor in `ldir
 * restart`, which may be a newer ldir: keep it as it is.
 */
export function pairKey(virtualId: string, real: string): string {
  return `${virtualId} ${real}`;
}

/** The virtual id and real key of a {@link pairKey}; a key without the separator is all virtual id. */
export function splitPairKey(pair: string): { readonly virtualId: string; readonly realKey: string } {
  const at = pair.indexOf(' ');
  return at < 0 ? { virtualId: pair, realKey: '' } : { virtualId: pair.slice(0, at), realKey: pair.slice(at + 1) };
}
