// `service=none`: no protocol check at all, the real server is always up (ldirectord's check_none).
import type { Checker } from './types';

/** Always up. */
export const noneCheck: Checker = async () => ({ up: true, reason: 'service none', durationMs: 0 });
