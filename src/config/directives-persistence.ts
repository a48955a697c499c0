// The ldir extension directive `persistenceengine=NAME` (virtual section): IPVS persistence keyed by an engine (`sip`).
import { MAX_PERSISTENCE_ENGINE_NAME } from '../ipvs/persistence-engines';
import { valueText } from './cf-values';
import type { DirectiveHandler } from './directives-shared';
import type { VirtualDraft } from './settings';

/** A persistence engine name as the kernel loads it (`ip_vs_pe_NAME`): lowercase letters, digits and `_`, 1..15. */
const ENGINE_NAME = new RegExp(`^[a-z][a-z0-9_]{0,${MAX_PERSISTENCE_ENGINE_NAME - 1}}$`);

/**
 * Handlers of the persistence engine directive of a virtual section. The name is checked here; whether the kernel
 * has it, that `persistent` is set and that the service's protocol is the one the engine reads are rules across
 * directives (src/config/strict-persistence.ts).
 */
export const PERSISTENCE_DIRECTIVES: Readonly<Record<string, DirectiveHandler<VirtualDraft>>> = {
  persistenceengine: (d, v, ctx) => {
    const text = valueText(d).trim();
    if (!ENGINE_NAME.test(text)) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `persistenceengine must be the name of a persistence engine (sip: lowercase letters, digits and _, at most ${MAX_PERSISTENCE_ENGINE_NAME}), not "${valueText(d)}"`,
        d.key,
      );
      return;
    }
    v.persistenceengine = text;
  },
};
