// A virtual's quorum settings, and the errors of a quorum it could never gain.
import type { QuorumSettings } from '../model';
import { quorumThresholds } from '../model';
import type { GlobalDraft, VirtualDraft } from './settings';

import type { BuildContext } from './build-context';

/**
 * The quorum settings of a virtual (its own directives, else the global ones); undefined when none is set; null after
 * an error: a hysteresis not below the quorum, or a quorum the virtual's reals can never reach.
 */
export function quorumSettings(
  v: VirtualDraft,
  g: GlobalDraft,
  realCount: number,
  ctx: BuildContext,
): QuorumSettings | undefined | null {
  const needed = v.quorum ?? g.quorum;
  const hysteresis = v.hysteresis ?? g.hysteresis;
  const upCommand = v.quorumupcommand ?? g.quorumupcommand;
  const downCommand = v.quorumdowncommand ?? g.quorumdowncommand;
  if (needed === undefined && hysteresis === undefined && upCommand === undefined && downCommand === undefined)
    return undefined;
  const settings: QuorumSettings = {
    needed: needed?.value ?? { kind: 'count', value: 1 },
    hysteresis: hysteresis?.value ?? 0,
    ...(upCommand !== undefined ? { upCommand } : {}),
    ...(downCommand !== undefined ? { downCommand } : {}),
    source: needed?.pos ?? hysteresis?.pos ?? v.pos,
  };
  const t = quorumThresholds(settings, realCount);
  const where = `virtual service at line ${v.pos.line}`;
  if (hysteresis !== undefined && t.hysteresis >= t.quorum) {
    ctx.sink.error(
      'invalid-value',
      hysteresis.pos,
      `hysteresis=${t.hysteresis} must be less than the quorum (${t.quorum} real server${t.quorum === 1 ? '' : 's'}) of the ${where}`,
      'hysteresis',
    );
    return null;
  }
  if (needed !== undefined && t.gainAt > realCount) {
    const text =
      needed.value.kind === 'percent'
        ? `quorum=${needed.value.value}% (${t.quorum} of ${realCount})`
        : `quorum=${t.quorum}`;
    ctx.sink.error(
      'invalid-value',
      needed.pos,
      `${text}${t.hysteresis > 0 ? ` with hysteresis=${t.hysteresis}` : ''} needs ${t.gainAt} serving real servers but the ${where} has ${realCount}: it could never be gained`,
      'quorum',
    );
    return null;
  }
  return settings;
}
