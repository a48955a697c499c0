// The director's recent events for `ldir status` and the status page: a bounded ring of one-line records (health
// changes, reloads, kernel refusals, fallback and quorum edges, drains, commands, role changes, alerts sent), fed by
// the observers' hooks. The wording of each record lives in the `describe*` functions (pure).
import type { AlertNote } from '../alerts/types';
import type { HealthTransition } from '../model/health';
import type { EngineEvent } from '../engine/engine-types';
import type { StatusEvent } from './protocol';

/** Most events a status report carries (and the ring keeps). */
export const MAX_STATUS_EVENTS = 50;

const iso = (ms: number): string => new Date(ms).toISOString();

/** The record of a health change of a (virtual, real) pair. */
export function describeTransition(t: HealthTransition): StatusEvent {
  const how = t.reason !== '' ? ` (${t.reason})` : '';
  return {
    at: iso(t.at),
    kind: 'transition',
    ok: t.to !== 'down',
    virtual: t.virtualId,
    real: t.realKey,
    text: `real ${t.realKey} of ${t.virtualId} ${t.from} -> ${t.to}${how}`,
  };
}

/** The record of a reload, accepted or refused (with why). */
export function describeReload(ok: boolean, at: number, message?: string): StatusEvent {
  return {
    at: iso(at),
    kind: 'reload',
    ok,
    text: ok
      ? 'configuration reloaded'
      : `reload refused: ${message ?? 'the configuration has errors'}; the previous one stays in force`,
  };
}

/** The record of an alert mail or command. */
export function describeAlert(note: AlertNote): StatusEvent {
  return {
    at: iso(note.at),
    kind: 'alert',
    ok: note.ok,
    text: note.text,
    ...(note.virtual !== undefined ? { virtual: note.virtual } : {}),
    ...(note.real !== undefined ? { real: note.real } : {}),
  };
}

/**
 * The record of an engine event worth an operator's glance, or undefined for routine ones (a pass that worked, an
 * operation the kernel took: they come by the thousand and are counted in `kernelOps` and the metrics instead).
 */
export function describeEngineEvent(e: EngineEvent): StatusEvent | undefined {
  const at = iso(e.at);
  switch (e.type) {
    case 'sync':
      return e.ok
        ? undefined
        : {
            at,
            kind: 'sync-failed',
            ok: false,
            text: `kernel sync pass failed (${e.reason}): ${e.error ?? `${e.failed} operation(s) refused`}`,
          };
    case 'op': {
      if (e.ok) return undefined;
      const target = e.destination !== undefined ? ` ${e.destination}` : '';
      return {
        at,
        kind: 'kernel-refused',
        ok: false,
        virtual: e.virtualId,
        ...(e.realKey !== undefined ? { real: e.realKey } : {}),
        text: `kernel refused ${e.op} ${e.virtualId}${target}: ${e.errno ?? 'error'}`,
      };
    }
    case 'fallback':
      return {
        at,
        kind: 'fallback',
        ok: !e.active,
        virtual: e.virtualId,
        text: `fallback server of ${e.virtualId} ${e.active ? 'in' : 'out'}`,
      };
    case 'quorum':
      // The first state of a virtual that has its quorum is how every start begins: not an event.
      if (e.previous === undefined && e.state === 'up') return undefined;
      return {
        at,
        kind: 'quorum',
        ok: e.state === 'up',
        virtual: e.virtualId,
        text: `${e.virtualId} quorum ${e.state === 'up' ? 'gained' : 'lost'}: ${e.serving} serving, quorum ${e.quorum}`,
      };
    case 'fallback-command':
    case 'quorum-command': {
      const ok = e.exitCode === 0 && e.error === undefined;
      const name = e.type === 'fallback-command' ? 'fallback command' : 'quorum command';
      const how = e.error ?? (e.exitCode === null ? 'killed' : `exit status ${e.exitCode}`);
      return {
        at,
        kind: 'command',
        ok,
        virtual: e.virtualId,
        text: `${name} (${e.action}) of ${e.virtualId}: ${ok ? 'ok' : how}`,
      };
    }
    case 'drain':
      return {
        at,
        kind: 'drain',
        ok: true,
        text: `drain of ${e.id} ${e.phase === 'end' ? `ended (${e.why ?? 'done'})` : e.phase === 'begin' ? 'began' : 'cancelled'}`,
      };
    case 'sync-daemon':
      if (e.ok && !e.drift) return undefined;
      return {
        at,
        kind: 'sync-daemon',
        ok: e.ok,
        text: `connection sync daemon ${e.state} ${e.action}${e.ok ? (e.drift ? ' (repaired a change made outside ldir)' : '') : ` refused: ${e.errno ?? 'error'}`}`,
      };
    case 'sync-role':
      return { at, kind: 'role', ok: true, text: `director role ${e.previous} -> ${e.role} (${e.source})` };
    case 'announce':
      return {
        at,
        kind: 'announce',
        ok: e.announced,
        ...(e.virtualIds.length === 1 ? { virtual: e.virtualIds[0] as string } : {}),
        text: `route ${e.prefix} ${e.announced ? 'announced' : 'withdrawn'} (${e.virtualIds.join(', ') || 'no virtual'})`,
      };
  }
}

/** A ring of the last {@link MAX_STATUS_EVENTS} (or `capacity`) events, oldest dropped first. */
export class RecentEvents {
  private readonly ring: (StatusEvent | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number = MAX_STATUS_EVENTS) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<StatusEvent | undefined>(capacity);
  }

  /** Keeps `event` (nothing for undefined), dropping the oldest when full. */
  add(event: StatusEvent | undefined): void {
    if (!event) return;
    this.ring[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The events kept, oldest first. */
  list(): StatusEvent[] {
    const out: StatusEvent[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.capacity] as StatusEvent);
    return out;
  }
}
