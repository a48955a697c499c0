// The ldir extension directives `drain=yes|no` and `draintimeout=SECONDS` (global): what a reload removes drains first.
import { readYesNo, valueText } from './cf-values';
import { accept, type DirectiveHandler } from './directives-shared';
import type { GlobalDraft } from './settings';

/** Longest `draintimeout` accepted: one day. */
export const MAX_DRAIN_TIMEOUT = 86_400;

/** Global directives of draining. */
export const DRAIN_DIRECTIVES: Readonly<Record<string, DirectiveHandler<GlobalDraft>>> = {
  drain: (d, g, ctx) => {
    const v = accept(d, readYesNo(d), ctx);
    if (v !== undefined) g.drain = v;
  },
  draintimeout: (d, g, ctx) => {
    const text = valueText(d);
    if (!/^\d+$/.test(text) || Number(text) > MAX_DRAIN_TIMEOUT) {
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `draintimeout must be a number of seconds from 0 to ${MAX_DRAIN_TIMEOUT}, not "${text}"`,
        d.key,
      );
      return;
    }
    g.draintimeout = Number(text);
  },
};
