// What a strict-validation rule looks at: one virtual service as written (with positions) and as built.
import type { SourcePos, VirtualService } from '../model';
import type { DiagnosticSink } from './diagnostics';
import type { VirtualDraft } from './settings';

/** A virtual service as written (its draft, with the line of every directive) and as built into the model. */
export interface StrictSubject {
  readonly draft: VirtualDraft;
  readonly virtual: VirtualService;
}

/**
 * One rule of strict validation: records an error where the director would not do what the file says (an option
 * dropped, ignored or changed, or a value the kernel refuses), a warning where an option is merely unused.
 */
export type StrictRule = (subject: StrictSubject, sink: DiagnosticSink) => void;

/** Where `directive` was written in the section, else the `virtual=` line. */
export function lineOf(subject: StrictSubject, directive: string): SourcePos {
  return subject.draft.written.get(directive) ?? subject.draft.pos;
}

/** `a, b and c` (or `a` alone); `a, b or c` with `conjunction` `or`. */
export function listWords(words: readonly string[], conjunction: 'and' | 'or' = 'and'): string {
  return words.length > 1
    ? `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`
    : (words[0] ?? '');
}
