// Where a configuration element came from: file, line and (for YAML) column.

/** Position of a directive in its configuration file (1-based line; column when known). */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
}
