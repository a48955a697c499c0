// Check-driven weight directives (ldir extensions): weightheader, minweight, maxweight; global and per virtual.
import { readBoundedInteger, valueText } from './cf-values';
import { accept, type DirectiveHandler } from './directives-shared';
import type { SharedSettings } from './settings';

/** Largest weight a check may set (the kernel's weight is a signed 32-bit integer). */
export const MAX_CHECK_WEIGHT = 2_147_483_647;

/** An HTTP header field name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A bound directive (`minweight`, `maxweight`): a whole number 0..{@link MAX_CHECK_WEIGHT}, with its position. */
function bound(field: 'minweight' | 'maxweight'): DirectiveHandler<SharedSettings> {
  return (d, s, ctx) => {
    const n = accept(d, readBoundedInteger(valueText(d), field, 0, MAX_CHECK_WEIGHT), ctx);
    if (n !== undefined) s[field] = { value: n, pos: d.pos };
  };
}

/** Handlers of the check-driven weight directives, shared by the global and the virtual tables. */
export const WEIGHT_SHARED_DIRECTIVES: Readonly<Record<string, DirectiveHandler<SharedSettings>>> = {
  weightheader: (d, s, ctx) => {
    const text = valueText(d).trim();
    if (!TOKEN.test(text))
      ctx.sink.error(
        'invalid-value',
        d.pos,
        `weightheader must be an HTTP header name (letters, digits, -), not "${valueText(d)}"`,
        d.key,
      );
    else s.weightheader = { value: text, pos: d.pos };
  },
  minweight: bound('minweight'),
  maxweight: bound('maxweight'),
};
