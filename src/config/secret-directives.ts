// The directives that hold a credential, and where their values are in configuration text, so that diagnostics and
// logs can hide them (the redaction itself: src/secrets.ts).
import { REDACTED } from '../secrets';
import type { ConfigDocument, RawDirective } from './document';

/** Directives whose value is a credential: a check's password, the RADIUS shared secret, the SMTP password. */
export const SECRET_DIRECTIVES: ReadonlySet<string> = new Set(['passwd', 'secret', 'smtppasswd']);

/** True when `key` names a directive whose value is a credential. */
export function isSecretDirective(key: string): boolean {
  return SECRET_DIRECTIVES.has(key);
}

/** A credential directive at the start of a line (any case, also as a YAML key or list item), then its value. */
const CREDENTIAL_LINE = /^(\s*(?:-\s*)?["']?)(passwd|secret|smtppasswd)(["']?(?:\s*[=:]\s*|\s+))(\S.*)$/i;
/** The same, also in a comment (`#passwd=old`): only to collect values, never to rewrite text. */
const CREDENTIAL_ANYWHERE = /^\s*(?:#+\s*)?(?:-\s*)?["']?(?:passwd|secret|smtppasswd)["']?(?:\s*[=:]\s*|\s+)(\S.*)$/i;

/**
 * Text of a configuration line as a message quotes it (a directive name as lexed is the whole line when it has no
 * `=`), with the value of a credential directive replaced: `secret RADSHARED` → `secret [redacted]`,
 * `    smtppasswd=x` → `    smtppasswd=[redacted]`. Any other text is returned as it is.
 */
export function redactCredentialLine(text: string): string {
  const m = CREDENTIAL_LINE.exec(text);
  return m ? `${m[1] as string}${m[2] as string}${m[3] as string}${REDACTED}` : text;
}

/** The forms in which a written value may be quoted in a message: whole, unquoted, cut at a comment. */
function variants(raw: string): string[] {
  const out = new Set<string>();
  const add = (s: string): void => {
    const t = s.trim();
    if (t === '') return;
    out.add(t);
    const q = t[0];
    if (q === '"' || q === "'") {
      out.add(t.slice(1));
      if (t.length > 1 && t.endsWith(q)) out.add(t.slice(1, -1));
    }
    if ((t.startsWith('[') && t.endsWith(']')) || (t.startsWith('{') && t.endsWith('}')))
      out.add(t.slice(1, -1).trim());
  };
  const text = raw.replace(/\r$/, '');
  add(text);
  const hash = text.indexOf('#');
  if (hash > 0) add(text.slice(0, hash));
  return [...out].filter((v) => v !== '');
}

/**
 * Every value written for a credential directive in configuration text (ldirectord.cf or YAML, broken or not,
 * commented out too), in the forms a message could quote it. A superset: what a diagnostic about this text may
 * contain of a secret is among them.
 */
export function credentialValuesInText(text: string): string[] {
  const found = new Set<string>();
  for (const line of text.split('\n')) {
    const m = CREDENTIAL_ANYWHERE.exec(line);
    if (m) for (const v of variants(m[1] as string)) found.add(v);
  }
  return [...found];
}

/** The values of the credential directives of a document (YAML values spread over several lines included). */
export function credentialValuesInDocument(document: ConfigDocument): string[] {
  const found = new Set<string>();
  const take = (d: RawDirective): void => {
    if (isSecretDirective(d.key) && d.value !== undefined) for (const v of variants(d.value)) found.add(v);
  };
  for (const entry of document.entries) {
    if (entry.kind === 'directive') take(entry.directive);
    else entry.virtual.body.forEach(take);
  }
  return [...found];
}
