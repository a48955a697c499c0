// Route health injection as `ldir status` reports it (the wire form: daemon/protocol.ts re-exports it).

/** One announced virtual in a status report. */
export interface VirtualAnnounceStatus {
  readonly virtualId: string;
  /** Its address as a host prefix. */
  readonly prefix: string;
  /** Its vote: `announced`, `withdrawn`, or a change held down (`pending-announce`, `pending-withdraw`). */
  readonly state: 'announced' | 'withdrawn' | 'pending-announce' | 'pending-withdraw';
  /** Why (src/announce/decide-announce.ts `AnnounceReason`). */
  readonly reason: 'serving' | 'not-serving' | 'announce-delay' | 'withdraw-delay' | 'not-decided';
  /** Seconds until a pending change. */
  readonly dueInS?: number;
  /** The prefix is announced now (by this virtual or another of the same address). */
  readonly prefixAnnounced: boolean;
}

/** Route health injection in a status report. */
export interface AnnounceStatus {
  /** The driver and its target (`bird socket=... file=...`, `frr socket=...`). */
  readonly driver: string;
  /** The prefixes the routing daemon announces (as it last took them). */
  readonly announced: readonly string[];
  /** The last failure to announce, until an announcement succeeds. */
  readonly lastError: string | null;
  /** The announce guard (withdraws when the daemon dies): `connected` or `none`. */
  readonly guard: 'connected' | 'none';
  readonly virtuals: readonly VirtualAnnounceStatus[];
}
