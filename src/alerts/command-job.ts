// The alert command of a health change: its argv (the configured command, then the event's words) and its
// environment (ldir's own plus `LDIR_*` values).
import type { DaemonState, VirtualService } from '../model';
import { pairKey, type HealthTransition } from '../model/health';
import type { CommandJob } from './commands';
import { virtualText } from './message';

/** What a command job needs besides the virtual and the transition. */
export interface AlertCommandContext {
  /** The real's weight after the change (0 when it went down). */
  readonly weight: number;
  /** Its health before the change (`up`, `down`, `unknown`). */
  readonly before: string;
  readonly daemonState: DaemonState;
  readonly hostname: string;
}

/** The environment of a command: ldir's own plus `LDIR_*` values. */
function commandEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

/**
 * The alert command job of transition `t` of a real of `v`: argv `command... EVENT VIRTUAL REAL WEIGHT REASON`, and
 * the same facts (and more) in `LDIR_*` environment variables.
 */
export function alertCommandJob(v: VirtualService, t: HealthTransition, context: AlertCommandContext): CommandJob {
  const { weight, before } = context;
  const event = t.to;
  const argv = [
    ...(v.alerts.command ?? '')
      .trim()
      .split(/\s+/)
      .filter((w) => w !== ''),
    event,
    v.id,
    t.realKey,
    String(weight),
    t.reason,
  ];
  const env = commandEnv({
    LDIR_EVENT: event,
    LDIR_VIRTUAL: v.id,
    LDIR_VIRTUAL_ADDRESS: virtualText(v),
    LDIR_PROTOCOL: v.protocol,
    LDIR_REAL: t.realKey,
    LDIR_WEIGHT: String(weight),
    LDIR_REASON: t.reason,
    LDIR_PREVIOUS: before,
    LDIR_DAEMON_STATUS: context.daemonState,
    LDIR_HOST: context.hostname,
    LDIR_TIME: String(Math.floor(t.at / 1000)),
    ...(v.serviceName !== undefined ? { LDIR_SERVICENAME: v.serviceName } : {}),
    ...(v.comment !== undefined ? { LDIR_COMMENT: v.comment } : {}),
  });
  return { pair: pairKey(v.id, t.realKey), argv, env, context: { vs: v.id, rs: t.realKey, event } };
}
