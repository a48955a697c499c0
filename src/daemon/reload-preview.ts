// Pure: a reload preview's steps, in the order a reload takes them, each with its data and its line for people.
import type { AwaitingCheck, EnginePreview } from '../engine/engine-types';
import type { DrainTarget } from '../engine/drain';
import type { OpRecord } from '../engine/op-report';
import { describeOp } from '../engine/op-report';
import { describeSyncDaemon, type SyncDaemonOp } from '../engine/state-sync-plan';
import { formatOp } from '../ipvs/ipvsadm/format';
import { destinationKeyString, serviceKeyString } from '../ipvs/normalize';
import type { IpvsOp } from '../ipvs/types';
import { formatTimeoutResult, type IpvsTimeoutResult } from '../system/ipvs-timeouts';
import { formatSysctlResult, type SysctlResult } from '../system/sysctl';
import type { InstanceRun } from './execute-instances';
import type { PreviewStep } from './protocol';

/** What a reload would do, part by part, as the daemon computes it (nothing of it done). */
export interface PreviewParts {
  /** The sysctls the reload would write or fail to write (unchanged ones left out). */
  readonly sysctls: readonly SysctlResult[];
  /** The IPVS connection timeouts the reload would write, give back or leave (unchanged ones left out). */
  readonly ipvsTimeouts: readonly IpvsTimeoutResult[];
  /** What the engine would do with the new configuration. */
  readonly engine: EnginePreview;
  /** The `execute=` runs that follow. */
  readonly execute: readonly InstanceRun[];
}

/** `30s`, `1.5s`: a duration in milliseconds as seconds. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** The virtual (kernel service id) and real (destination id, null for a whole service) of a drain target. */
function drainNames(target: DrainTarget): { virtual: string; real: string | null } {
  return {
    virtual: serviceKeyString(target.service),
    real: target.kind === 'service' ? null : destinationKeyString(target.destination),
  };
}

const named = (n: { virtual: string; real: string | null }): string =>
  n.real === null ? n.virtual : `${n.virtual} ${n.real}`;

/** One kernel operation as an `ipvsadm` command line, or in the engine's words when ipvsadm cannot express it. */
export function opLine(op: IpvsOp): string {
  try {
    return `ipvsadm ${formatOp(op)}`;
  } catch {
    return describeOp(op);
  }
}

/** What an operation's destination is to ldir, for the comment after its line. */
function opComment(r: OpRecord): string {
  const what =
    r.role === 'real'
      ? `real ${r.realKey ?? r.destination ?? ''}${r.reason ? ` (${r.reason})` : ''}`
      : r.role === 'fallback'
        ? 'fallback server'
        : r.role === 'draining'
          ? 'draining'
          : r.role === 'stale'
            ? 'not in the configuration'
            : '';
  const notes = [what, ...(r.drift ? ['repairs a change made outside ldir'] : [])].filter((n) => n !== '');
  return notes.length > 0 ? `  # ${notes.join(', ')}` : '';
}

function sysctlStep(r: SysctlResult): PreviewStep {
  return {
    kind: 'sysctl',
    key: r.key,
    old: r.old ?? null,
    new: r.new,
    why: r.why,
    status: r.status === 'failed' ? 'failed' : 'would-change',
    reason: r.reason ?? null,
    text: `sysctl ${formatSysctlResult(r)}  # ${r.why}`,
  };
}

function ipvsTimeoutStep(r: IpvsTimeoutResult): PreviewStep {
  const status =
    r.status === 'would-change' || r.status === 'would-restore' || r.status === 'left' ? r.status : 'failed';
  return {
    kind: 'ipvs-timeout',
    timeout: r.timeout,
    old: r.old ?? null,
    new: r.new,
    status,
    why: r.why,
    reason: r.reason ?? null,
    text: `ipvs timeout ${formatTimeoutResult(r)}${status === 'would-change' ? `  # ${r.why}` : ''}`,
  };
}

function syncDaemonStep(op: SyncDaemonOp): PreviewStep {
  if (op.op === 'stop-daemon')
    return {
      kind: 'sync-daemon',
      action: 'stop',
      state: op.state,
      daemon: null,
      text: `stop the ${op.state} sync daemon`,
    };
  return {
    kind: 'sync-daemon',
    action: 'start',
    state: op.daemon.state,
    daemon: op.daemon,
    text: `start the ${describeSyncDaemon(op.daemon)}`,
  };
}

function firstCheckStep(a: AwaitingCheck): PreviewStep {
  const until =
    a.desiredWeight === undefined
      ? 'not in the table'
      : a.reason === 'unknown-adopted'
        ? `kernel weight ${a.desiredWeight} kept`
        : `weight ${a.desiredWeight}`;
  return {
    kind: 'first-check',
    virtual: a.virtualId,
    real: a.destinationId,
    weightUntilChecked: a.desiredWeight ?? null,
    weight: a.configuredWeight,
    text: `first check ${a.virtualId} ${a.destinationId}: ${until} until it answers, weight ${a.configuredWeight} once up`,
  };
}

/**
 * The steps of a reload preview, in the order a reload takes them: sysctls; IPVS timeouts; drains that stop and begin, and
 * `fallbackcommand stop` of removed virtuals (the configuration comes into force); the table pass (drains that end,
 * kernel operations, fallback edges and their commands); the sync daemons; the first checks of new reals; the
 * `execute=` instances. Empty when the reload would change nothing.
 */
export function previewSteps(parts: PreviewParts): PreviewStep[] {
  const { engine } = parts;
  const steps: PreviewStep[] = parts.sysctls.filter((r) => r.status !== 'unchanged').map(sysctlStep);
  steps.push(...parts.ipvsTimeouts.filter((r) => r.status !== 'unchanged').map(ipvsTimeoutStep));
  for (const target of engine.drainsCancelled) {
    const n = drainNames(target);
    steps.push({ kind: 'drain-cancel', ...n, text: `stop draining ${named(n)}  # back in the configuration` });
  }
  for (const target of engine.drainsBegun) {
    const n = drainNames(target);
    steps.push({
      kind: 'drain-begin',
      ...n,
      timeoutSeconds: engine.drainTimeoutMs / 1000,
      text: `drain ${named(n)} (timeout ${seconds(engine.drainTimeoutMs)})`,
    });
  }
  const command = (c: { virtualId: string; action: 'start' | 'stop'; argv: readonly string[] }): PreviewStep => ({
    kind: 'fallback-command',
    virtual: c.virtualId,
    action: c.action,
    argv: [...c.argv],
    text: `run ${c.argv.join(' ')}  # fallbackcommand ${c.action} of ${c.virtualId}`,
  });
  const quorumCommand = (c: { virtualId: string; action: 'up' | 'down'; argv: readonly string[] }): PreviewStep => ({
    kind: 'quorum-command',
    virtual: c.virtualId,
    action: c.action,
    argv: [...c.argv],
    text: `run ${c.argv.join(' ')}  # quorum${c.action}command of ${c.virtualId}`,
  });
  steps.push(...engine.retiredCommands.map(command));
  steps.push(...engine.retiredQuorumCommands.map(quorumCommand));
  for (const { target, why } of engine.drainsEnded) {
    const n = drainNames(target);
    steps.push({ kind: 'drain-end', ...n, why, text: `end the drain of ${named(n)} (${why})` });
  }
  for (const r of engine.ops) {
    steps.push({
      kind: 'ipvs',
      op: r.op,
      role: r.role ?? null,
      real: r.realKey ?? null,
      reason: r.reason ?? null,
      repair: r.drift,
      text: `${opLine(r.op)}${opComment(r)}`,
    });
  }
  for (const f of engine.fallback) {
    if (f.quorum) {
      const q = f.quorum;
      const band =
        q.hysteresis > 0
          ? q.state === 'up'
            ? `${q.quorum}+${q.hysteresis}`
            : `${q.quorum}-${q.hysteresis}`
          : String(q.quorum);
      const text = `quorum ${q.state === 'up' ? 'gained' : 'lost'} ${f.virtualId}  # ${q.serving} real servers serving, quorum ${band}`;
      steps.push({
        kind: 'quorum',
        virtual: f.virtualId,
        state: q.state,
        serving: q.serving,
        quorum: q.quorum,
        hysteresis: q.hysteresis,
        text,
      });
    }
    if (f.edge) {
      const why = f.quorum
        ? f.active
          ? 'below the quorum'
          : 'the quorum is met'
        : f.active
          ? 'no real server up'
          : 'a real server is up';
      const text = `fallback ${f.active ? 'in' : 'out'} ${f.virtualId}  # ${why}`;
      steps.push({ kind: 'fallback', virtual: f.virtualId, active: f.active, text });
    }
    if (f.command) steps.push(command(f.command));
    if (f.quorumCommand) steps.push(quorumCommand(f.quorumCommand));
  }
  steps.push(...engine.syncDaemons.map(syncDaemonStep));
  steps.push(...engine.awaitingCheck.map(firstCheckStep));
  for (const [name, action] of parts.execute) {
    const note = action === 'try-reload' ? '  # reload, or start when it is not running' : '';
    steps.push({ kind: 'execute', name, action, text: `execute ${name} ${action}${note}` });
  }
  return steps;
}
