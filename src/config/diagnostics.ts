// Diagnostics: errors and warnings found while reading a configuration, each tied to a file position.
import type { SourcePos } from '../model';

/** Severity of a {@link Diagnostic}. */
export type Severity = 'error' | 'warning';

/** Stable diagnostic codes (programs match on these). */
export type DiagnosticCode =
  | 'unknown-directive'
  | 'invalid-value'
  | 'deprecated'
  | 'misplaced'
  | 'duplicate-virtual'
  | 'unresolvable'
  | 'ignored-text'
  | 'ignored-setting'
  /** An option the director would not apply as written (a flag, netmask or ops the kernel would not use). */
  | 'ineffective-setting'
  /** A check option the chosen check never reads (warning). */
  | 'unused-setting'
  /** A scheduler that mainline Linux does not have (warning: an out-of-tree module may provide it). */
  | 'unknown-scheduler'
  /** A persistence engine that mainline Linux does not have (warning: an out-of-tree module may provide it). */
  | 'unknown-persistence-engine'
  /** An announced virtual (ECMP across directors) whose scheduler is not consistent across directors (warning). */
  | 'inconsistent-scheduler'
  | 'missing-path'
  /** An `include` that would read a file into itself (directly or through other files). */
  | 'include-cycle'
  /** An `include` of a file already read through another `include` (or the main file). */
  | 'duplicate-include'
  /** An `execute=` that leads back to a configuration on its way (itself, or a cycle among the executed ones). */
  | 'execute-cycle'
  | 'syntax';

/** One finding about a configuration file. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly pos: SourcePos;
  /** The directive concerned, when there is one. */
  readonly directive?: string;
}

/** Formats a diagnostic as `PATH:LINE: message` (`PATH:LINE:COL:` when the column is known). */
export function formatDiagnostic(d: Diagnostic): string {
  const where =
    d.pos.column === undefined ? `${d.pos.file}:${d.pos.line}` : `${d.pos.file}:${d.pos.line}:${d.pos.column}`;
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${prefix}${d.message}`;
}

/** Collects diagnostics in the order they are found. */
export class DiagnosticSink {
  private readonly items: Diagnostic[] = [];
  /** Files in the order they were read (included files after the file that includes them): how {@link all} sorts. */
  private readonly files = new Map<string, number>();

  /** Records that `file` is read now: its diagnostics sort after those of the files read before it. */
  noteFile(file: string): void {
    if (!this.files.has(file)) this.files.set(file, this.files.size);
  }

  /** Records an error. */
  error(code: DiagnosticCode, pos: SourcePos, message: string, directive?: string): void {
    this.noteFile(pos.file);
    this.items.push(
      directive === undefined
        ? { severity: 'error', code, message, pos }
        : { severity: 'error', code, message, pos, directive },
    );
  }

  /** Records a warning. */
  warn(code: DiagnosticCode, pos: SourcePos, message: string, directive?: string): void {
    this.noteFile(pos.file);
    this.items.push(
      directive === undefined
        ? { severity: 'warning', code, message, pos }
        : { severity: 'warning', code, message, pos, directive },
    );
  }

  /** True when at least one error was recorded. */
  hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  /** All diagnostics, sorted by file (in the order files were read), then position (stable for equal positions). */
  all(): readonly Diagnostic[] {
    const rank = (d: Diagnostic): number => this.files.get(d.pos.file) ?? 0;
    return [...this.items].sort(
      (a, b) => rank(a) - rank(b) || a.pos.line - b.pos.line || (a.pos.column ?? 0) - (b.pos.column ?? 0),
    );
  }
}
