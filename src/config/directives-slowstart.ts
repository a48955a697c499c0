// `slowstart=SECONDS` (an ldir extension), valid globally and per virtual service.
import { valueText } from './cf-values';
import type { DirectiveHandler } from './directives-shared';
import type { SharedSettings } from './settings';

/** Longest slow start accepted: one day (a ramp is meant in seconds to minutes; a typo of a few zeros is refused). */
export const SLOWSTART_MAX_SECONDS = 86_400;

/** Handlers of the slow-start directive, shared by the global and the virtual tables. */
export const SLOWSTART_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  slowstart: (d, s, ctx) => {
    const text = valueText(d).trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= 0 && n <= SLOWSTART_MAX_SECONDS)) {
      ctx.sink.error('invalid-value', d.pos, `slowstart must be a whole number of seconds in range 0..${SLOWSTART_MAX_SECONDS} (0: off), not "${valueText(d)}"`, d.key);
    } else s.slowstart = n;
  },
};
