// The ldir extension directive `risecount=N` (global and per virtual): successes in a row before a down real is up.
import { readBoundedInteger, valueText } from './cf-values';
import { accept, type DirectiveHandler } from './directives-shared';
import type { SharedSettings } from './settings';

/** Most successes in a row `risecount` asks for (beyond that a real would stay out for hours at common intervals). */
export const MAX_RISE_COUNT = 1000;

/** Directives of the rise count, valid globally and inside a virtual section. */
export const RISE_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  risecount: (d, s, ctx) => {
    const v = accept(d, readBoundedInteger(valueText(d), 'risecount', 1, MAX_RISE_COUNT), ctx);
    if (v !== undefined) s.risecount = v;
  },
};
