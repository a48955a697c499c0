// The `--ipvs=` values, in a module of their own so that the CLI can check them without loading the backends.

/** `--ipvs=` values. */
export type BackendChoice = 'auto' | 'netlink' | 'ipvsadm' | 'memory';

/** Every `--ipvs=` value. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'netlink', 'ipvsadm', 'memory'];
