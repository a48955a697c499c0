// How a kernel answer to one operation becomes a result, shared by every backend.
import type { IpvsOp, IpvsOpResult } from './types';

/**
 * Result of one operation from the errno the kernel (or ipvsadm) answered: none = done; an add that finds the entry
 * (EEXIST) or a delete that finds it gone (ESRCH, ENOENT) = converged; anything else = failed.
 */
export function opResult(op: IpvsOp, errno: string | undefined, detail?: string): IpvsOpResult {
  if (errno === undefined) return { status: 'done' };
  const converged =
    ((op.op === 'add-service' || op.op === 'add-destination') && errno === 'EEXIST') ||
    ((op.op === 'delete-service' || op.op === 'delete-destination') && (errno === 'ESRCH' || errno === 'ENOENT'));
  if (converged) return { status: 'converged', errno };
  return { status: 'failed', errno, message: detail ? `${errno}: ${detail}` : errno };
}
