// The engine's events, for alerts and metrics: what a pass, a command or a drain did.
import type { IpvsOp, IpvsSyncDaemon } from '../ipvs/types';
import type { SyncStartRole } from '../model';
import type { DecisionReason } from './decide';
import type { DrainEnd } from './drain';
import type { FallbackAction } from './fallback-command';
import type { DecidedQuorum } from './quorum';
import type { SyncRoleSource } from './state-sync-types';

/** Kinds of kernel operations, for counters. */
export type OpKind = IpvsOp['op'];

/** Something the engine did, for alerts and metrics. Listeners must not throw (errors are logged and ignored). */
export type EngineEvent =
  | {
      readonly type: 'sync';
      /** Epoch milliseconds at which the pass started. */
      readonly at: number;
      /** What asked for it: `config`, `health`, `resync`, `drain`, `manual`, several joined with `+`. */
      readonly reason: string;
      readonly ok: boolean;
      readonly durationMs: number;
      readonly ops: number;
      readonly failed: number;
      /** Operations that repaired a table changed outside ldir. */
      readonly drift: number;
      readonly error?: string;
    }
  | {
      readonly type: 'op';
      readonly at: number;
      readonly op: OpKind;
      /** Kernel service id (`tcp:10.0.0.1:80`), equal to the VirtualService id of a configured virtual. */
      readonly virtualId: string;
      /** Destination id (`10.0.0.2:80`) for destination operations. */
      readonly destination?: string;
      /** What the destination is to ldir: a real server, the fallback, a drain leftover, or not in the config. */
      readonly role?: 'real' | 'fallback' | 'draining' | 'stale';
      /** {@link realKey} when the destination is a configured real server. */
      readonly realKey?: string;
      /** Decision behind it, for real servers. */
      readonly reason?: DecisionReason;
      /** Weight set by an add or edit of a destination. */
      readonly weight?: number;
      readonly ok: boolean;
      readonly errno?: string;
      readonly drift: boolean;
    }
  | { readonly type: 'fallback'; readonly at: number; readonly virtualId: string; readonly active: boolean }
  | {
      /** A prefix announced or withdrawn by the routing daemon (route health injection: src/announce/announcer.ts). */
      readonly type: 'announce';
      readonly at: number;
      readonly prefix: string;
      readonly announced: boolean;
      readonly virtualIds: readonly string[];
    }
  | {
      readonly type: 'fallback-command';
      readonly at: number;
      readonly virtualId: string;
      readonly action: FallbackAction;
      readonly exitCode: number | null;
      readonly error?: string;
    }
  | {
      /** The virtual gained or lost its quorum (a decided state; `previous` undefined for the first one). */
      readonly type: 'quorum';
      readonly at: number;
      readonly virtualId: string;
      readonly state: DecidedQuorum;
      readonly previous?: DecidedQuorum;
      readonly serving: number;
      readonly quorum: number;
      readonly hysteresis: number;
    }
  | {
      readonly type: 'quorum-command';
      readonly at: number;
      readonly virtualId: string;
      readonly action: DecidedQuorum;
      readonly exitCode: number | null;
      readonly error?: string;
    }
  | {
      readonly type: 'drain';
      readonly at: number;
      readonly id: string;
      readonly phase: 'begin' | 'cancel' | 'end';
      readonly why?: DrainEnd;
    }
  | {
      /** A start or stop of a kernel connection sync daemon. */
      readonly type: 'sync-daemon';
      readonly at: number;
      readonly action: 'start' | 'stop';
      readonly state: IpvsSyncDaemon['state'];
      readonly ok: boolean;
      readonly errno?: string;
      /** It repaired a sync daemon stopped or changed outside ldir. */
      readonly drift: boolean;
    }
  | {
      readonly type: 'sync-role';
      readonly at: number;
      readonly role: SyncStartRole;
      readonly previous: SyncStartRole;
      readonly source: SyncRoleSource;
    };
