// Replaces secrets in objects printed by the CLI.

const SECRET_KEYS = new Set(['passwd', 'secret', 'password']);

/** A deep copy of `value` with every non-empty secret field replaced by `[redacted]`. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEYS.has(k) && typeof v === 'string' && v !== '' ? '[redacted]' : redactSecrets(v);
    }
    return out;
  }
  return value;
}
