// Pure: the fallback mode of each decided virtual, its in/out edges and the fallbackcommand runs they cause.
import type { Config, VirtualService } from '../model';
import type { Decision } from './decide';
import type { FallbackAction } from './fallback-command';

/** The fallback mode a pass decides for one virtual. */
export interface FallbackChange {
  readonly virtual: VirtualService;
  /** No real server is up: the virtual is in fallback mode. */
  readonly active: boolean;
  /** The mode changed (the first decided state counts when it is fallback mode): logged and reported as an event. */
  readonly edge: boolean;
  /** The `fallbackcommand` action that runs (it runs once per change of action, the first decided state included). */
  readonly command?: FallbackAction;
}

/**
 * The fallback mode of every virtual of `config` whose state `decision` has decided (pending ones keep theirs),
 * compared with `active` (the modes as last decided, by virtual id) and `lastAction` (the last fallbackcommand
 * action run for a virtual). The engine applies it at the end of each pass; a reload preview shows it.
 */
export function fallbackChanges(
  config: Config, decision: Decision, active: ReadonlyMap<string, boolean>, lastAction: (virtualId: string) => FallbackAction | undefined,
): FallbackChange[] {
  const byId = new Map<string, VirtualService>(config.virtualServices.map((v) => [v.id, v]));
  const out: FallbackChange[] = [];
  for (const d of decision.virtuals) {
    if (d.fallbackState === 'pending') continue;
    const virtual = byId.get(d.virtualId);
    if (!virtual) continue;
    const now = d.fallbackState === 'active';
    const before = active.get(d.virtualId);
    const action: FallbackAction = now ? 'start' : 'stop';
    const runs = virtual.fallbackCommand !== undefined && lastAction(virtual.id) !== action;
    out.push({ virtual, active: now, edge: before !== now && (before !== undefined || now), ...(runs ? { command: action } : {}) });
  }
  return out;
}
