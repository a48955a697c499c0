// `slowstart=SECONDS` (an ldir extension), valid globally and per virtual service.
import { readBoundedInteger, valueText } from './cf-values';
import { accept, type DirectiveHandler } from './directives-shared';
import type { SharedSettings } from './settings';

/** Longest slow start accepted: one day (a ramp is meant in seconds to minutes; a typo of a few zeros is refused). */
export const SLOWSTART_MAX_SECONDS = 86_400;

/** Handlers of the slow-start directive, shared by the global and the virtual tables. */
export const SLOWSTART_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  slowstart: (d, s, ctx) => {
    const n = accept(d, readBoundedInteger(valueText(d), 'slowstart (seconds; 0: off)', 0, SLOWSTART_MAX_SECONDS), ctx);
    if (n !== undefined) s.slowstart = n;
  },
};
