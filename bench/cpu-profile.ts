// Where a Node process spent its JS thread's time, from a V8 `.cpuprofile` (`node --cpu-prof`), over a window of it.

/** One node of a `.cpuprofile` call tree (only the fields read here). */
export interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

/** A `.cpuprofile`: start and end in microseconds of the monotonic clock, a sample's node and the µs since the one before. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one function (or of a V8 pseudo-frame such as `(garbage collector)`). */
export interface ProfileEntry {
  /** `name file:line` (file relative to the project where it can be), or the pseudo-frame's name. */
  readonly frame: string;
  readonly ms: number;
}

/** What {@link summarizeProfile} makes of a window. */
export interface ProfileSummary {
  /** Length of the window covered by samples. */
  readonly windowMs: number;
  /** Time of the samples that were not `(idle)`: the JS thread busy (JS, GC, V8's own work). */
  readonly busyMs: number;
  readonly gcMs: number;
  /** Time in `(program)`: V8 and Node native code with no JS frame (callbacks from libuv, the addon's calls). */
  readonly programMs: number;
  /** Busy time by the file of the innermost JS frame of our code (or of node_modules, or `node:` internals). */
  readonly byFile: readonly ProfileEntry[];
  /** The functions with the most self time, most first. */
  readonly top: readonly ProfileEntry[];
}

const shortUrl = (url: string): string => {
  const m = /(?:\/dist\/|\/node_modules\/)(.*)$/.exec(url);
  if (m) return url.includes('/node_modules/') ? `node_modules/${(m[1] ?? '').split('/')[0]}` : (m[1] ?? url);
  return url === '' ? '(native)' : url.replace(/^file:\/\//, '');
};

/**
 * Sums a profile's samples whose time falls in `[fromUs, toUs)` (the profile's clock; the whole profile when
 * omitted): busy, GC and `(program)` time, busy time per file, and the `topN` functions with the most self time.
 */
export function summarizeProfile(profile: CpuProfile, fromUs = -Infinity, toUs = Infinity, topN = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  let t = profile.startTime;
  let first = Infinity;
  let last = -Infinity;
  let busy = 0;
  let gc = 0;
  let program = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const next = i + 1 < profile.timeDeltas.length ? (profile.timeDeltas[i + 1] ?? 0) : 0;
    if (t < fromUs || t >= toUs) continue;
    first = Math.min(first, t);
    last = Math.max(last, t + next);
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    const name = node.callFrame.functionName;
    if (name === '(idle)') continue;
    const us = next;
    busy += us;
    if (name === '(garbage collector)') gc += us;
    if (name === '(program)') program += us;
    const frame =
      node.callFrame.url === ''
        ? name || '(anonymous)'
        : `${name || '(anonymous)'} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    self.set(frame, (self.get(frame) ?? 0) + us);
    const file = node.callFrame.url === '' ? name : shortUrl(node.callFrame.url);
    files.set(file, (files.get(file) ?? 0) + us);
  }
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const sorted = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m]
      .sort(([, a], [, b]) => b - a)
      .slice(0, n)
      .map(([frame, us]) => ({ frame, ms: ms(us) }));
  return {
    windowMs: Number.isFinite(first) ? ms(last - first) : 0,
    busyMs: ms(busy),
    gcMs: ms(gc),
    programMs: ms(program),
    byFile: sorted(files, topN),
    top: sorted(self, topN),
  };
}
