// What the model builder works with: the file, the form, the diagnostic sink, the resolver, the host name.
import type { DiagnosticSink } from './diagnostics';
import type { Resolver } from './resolver';

/** Inputs of `buildModel` (build-model.ts), handed to each of its parts. */
export interface BuildContext {
  readonly file: string;
  readonly format: 'cf' | 'yaml';
  readonly sink: DiagnosticSink;
  readonly resolver: Resolver;
  readonly hostname: string;
  /** Files read through `include` (absolute, in reading order). */
  readonly includedFiles?: readonly string[];
}
