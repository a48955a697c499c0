// The configuration document: directives as written (before defaults and name resolution), shared by both file forms.
import type { SourcePos } from '../model';
import type { RealLine } from './real-line';

/** One `key=value` directive as written. */
export interface RawDirective {
  /** Directive name as written (case-sensitive, as ldirectord). */
  readonly key: string;
  /**
   * Text after `key=` (cf: the rest of the line, as ldirectord's regexes see it; YAML: the scalar as a string).
   * Undefined for a bare word without `=`.
   */
  readonly value: string | undefined;
  readonly pos: SourcePos;
  /** cf values keep ldirectord's quoting rules; YAML values are already plain strings. */
  readonly syntax: 'cf' | 'yaml';
  /** A real server written as a YAML mapping, already checked field by field. */
  readonly real?: RealLine;
}

/** A `virtual=` / `virtual6=` section with its body. */
export interface RawVirtual {
  readonly keyword: 'virtual' | 'virtual6';
  readonly value: string;
  readonly pos: SourcePos;
  readonly syntax: 'cf' | 'yaml';
  readonly body: readonly RawDirective[];
  /** Line on which the section ended (the line ldirectord reports for a duplicate virtual service). */
  readonly endLine: number;
}

/** A top-level entry of a document, in file order. */
export type DocumentEntry =
  | { readonly kind: 'directive'; readonly directive: RawDirective }
  | { readonly kind: 'virtual'; readonly virtual: RawVirtual };

/** A configuration file read into directives, in file order. */
export interface ConfigDocument {
  readonly file: string;
  readonly format: 'cf' | 'yaml';
  readonly entries: readonly DocumentEntry[];
}
