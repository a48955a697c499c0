// `execute=` cycles: a configuration that executes itself, directly or through others, would start (and reload)
// instances forever; ldirectord does not notice. Found by following the `execute=` lines of the named files.
import type { SourcePos } from '../model';
import type { IncludeFileSystem } from './config-sources';
import { valueText } from './cf-values';
import type { DiagnosticSink } from './diagnostics';
import type { ConfigDocument, RawDirective } from './document';

/**
 * Most `execute=` names looked up from one file (each costs up to three `stat` calls and a parse): far more than any
 * real family of instances, and a bound on the work for a file of 100,000 `execute=` lines.
 */
export const MAX_EXECUTED_NAMES = 256;

/** How executed configurations are found and read (injected for tests). */
export interface ExecuteGraphContext {
  /** Reading and canonical paths, as for includes. */
  readonly files: IncludeFileSystem;
  /** Where `ldir NAME start` finds configuration NAME (`locateConfig`); undefined when it finds none. */
  readonly locate: (name: string) => string | undefined;
  /**
   * The `execute=` values of a configuration file with its includes expanded, in file order; undefined when it
   * cannot be read or parsed (its own `ldir check` reports that, not this file's).
   */
  readonly executesOf: (path: string, text: string) => Promise<readonly string[] | undefined>;
}

/** The top-level `execute=` directives of a document (its includes already expanded). */
export function executeDirectives(doc: ConfigDocument): RawDirective[] {
  const found: RawDirective[] = [];
  for (const entry of doc.entries)
    if (entry.kind === 'directive' && entry.directive.key === 'execute') found.push(entry.directive);
  return found;
}

/** A walk over the execute graph that remembers the files already shown free of cycles. */
class ExecuteWalk {
  private readonly acyclic = new Set<string>();
  private looked = 0;

  constructor(private readonly ctx: ExecuteGraphContext) {}

  /** True once {@link MAX_EXECUTED_NAMES} names were looked up: the walk stops there. */
  get exhausted(): boolean {
    return this.looked >= MAX_EXECUTED_NAMES;
  }

  /**
   * The chain from `chain`'s last file through `name` back to a file of `chain` (the cycle, as canonical paths), or
   * undefined when every path from `name` ends.
   */
  async cycleThrough(name: string, chain: readonly string[]): Promise<string[] | undefined> {
    if (this.exhausted) return undefined;
    this.looked++;
    const located = this.ctx.locate(name);
    if (located === undefined) return undefined;
    const real = this.ctx.files.realpath(located);
    const at = chain.indexOf(real);
    if (at >= 0) return [...chain.slice(at), real];
    if (this.acyclic.has(real)) return undefined;
    const read = this.ctx.files.read(real);
    const next = read.ok ? await this.ctx.executesOf(real, read.text) : undefined;
    for (const child of next ?? []) {
      const cycle = await this.cycleThrough(child, [...chain, real]);
      if (cycle) return cycle;
    }
    this.acyclic.add(real);
    return undefined;
  }
}

/**
 * Reports each `execute=` of `doc` (the main file, includes expanded) that leads back to a configuration already on
 * its way: to the main file itself, or into a cycle among the executed ones. An error at that line naming the chain.
 */
export async function checkExecuteCycles(
  doc: ConfigDocument,
  ctx: ExecuteGraphContext,
  sink: DiagnosticSink,
): Promise<void> {
  const directives = executeDirectives(doc);
  if (directives.length === 0) return;
  const walk = new ExecuteWalk(ctx);
  const main = ctx.files.realpath(doc.file);
  for (const d of directives) {
    if (walk.exhausted) {
      sink.warn(
        'ignored-setting',
        d.pos,
        `execute=: more than ${MAX_EXECUTED_NAMES} configurations to follow; cycles from this line on are not checked`,
        'execute',
      );
      return;
    }
    const name = valueText(d);
    const cycle = await walk.cycleThrough(name, [main]);
    if (cycle) report(sink, d.pos, name, cycle, main);
  }
}

function report(sink: DiagnosticSink, pos: SourcePos, name: string, cycle: readonly string[], main: string): void {
  const message =
    cycle.length === 2 && cycle[0] === main
      ? `execute=${name} names this configuration itself (${main}): it would start and reload itself forever`
      : `execute=${name} leads to a cycle: ${cycle.join(' executes ')}; each instance would start the next forever`;
  sink.error('execute-cycle', pos, message, 'execute');
}
