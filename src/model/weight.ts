// The range of a weight the kernel takes, for runtime weights (`ldir weight`): shared by the CLI, the control
// protocol and the engine, without loading anything else.

/**
 * Largest runtime weight: the kernel's (an `int`; IPVS refuses larger ones with ERANGE, and `ipvsadm -w` bounds it
 * there too). A configured weight may be written larger, and is then refused by the kernel when applied.
 */
export const MAX_RUNTIME_WEIGHT = 2_147_483_647;

/** True when `weight` is a runtime weight the kernel takes: an integer in 0..{@link MAX_RUNTIME_WEIGHT}. */
export function isRuntimeWeight(weight: unknown): weight is number {
  return typeof weight === 'number' && Number.isSafeInteger(weight) && weight >= 0 && weight <= MAX_RUNTIME_WEIGHT;
}
