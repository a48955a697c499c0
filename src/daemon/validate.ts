// Small structural validators for the JSON that crosses the control socket (no dependency, no `any`).

/** A value failed validation; `path` says where (`$.reals[2].port`). */
export class SchemaError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'SchemaError';
  }
}

/** Validates `value` found at `path` and returns it typed, or throws a {@link SchemaError}. */
export type Check<T> = ((value: unknown, path: string) => T) & { readonly optional?: true };

/** The type a {@link Check} produces. */
export type Checked<C> = C extends Check<infer T> ? T : never;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? 'an object'
    : `${typeof value} ${JSON.stringify(value)?.slice(0, 40) ?? ''}`.trim();
}

/** A string of `min`..`max` characters (default 0..4096); `printable` refuses control characters. */
export function str(options: { min?: number; max?: number; printable?: boolean } = {}): Check<string> {
  const { min = 0, max = 4096, printable = false } = options;
  return (value, path) => {
    if (typeof value !== 'string') throw new SchemaError(path, `expected a string, got ${describe(value)}`);
    if (value.length < min)
      throw new SchemaError(path, min === 1 ? 'must not be empty' : `shorter than ${min} characters`);
    if (value.length > max) throw new SchemaError(path, `longer than ${max} characters`);
    if (printable && /[\u0000-\u001f\u007f]/.test(value)) throw new SchemaError(path, 'contains control characters');
    return value;
  };
}

/** An integer in `min`..`max` (default the safe integers). */
export function int(options: { min?: number; max?: number } = {}): Check<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw new SchemaError(path, `expected an integer, got ${describe(value)}`);
    if (value < min || value > max) throw new SchemaError(path, `must be between ${min} and ${max}`);
    return value;
  };
}

/** A finite number that is not negative. */
export const nonNegative: Check<number> = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new SchemaError(path, `expected a number >= 0, got ${describe(value)}`);
  }
  return value;
};

/** A boolean. */
export const bool: Check<boolean> = (value, path) => {
  if (typeof value !== 'boolean') throw new SchemaError(path, `expected a boolean, got ${describe(value)}`);
  return value;
};

/** One of the given string literals. */
export function literal<T extends string>(...values: readonly T[]): Check<T> {
  return (value, path) => {
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      throw new SchemaError(
        path,
        `expected ${values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describe(value)}`,
      );
    }
    return value as T;
  };
}

/** An ISO 8601 timestamp as `Date.prototype.toISOString` writes it. */
export const isoTime: Check<string> = (value, path) => {
  const s = str({ max: 40 })(value, path);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw new SchemaError(path, `expected an ISO 8601 UTC time, got ${JSON.stringify(s)}`);
  }
  return s;
};

/** `check`, or `null`. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, path) => (value === null ? null : check(value, path));
}

/** A {@link Check} of an object member that may be absent: {@link object} types that member `?: T`. */
export type OptionalCheck<T> = Check<T> & { readonly optional: true };

/** Marks an object member that may be absent (absent members are left out of the result). */
export function optional<T>(check: Check<T>): OptionalCheck<T> {
  return Object.assign((value: unknown, path: string) => check(value, path), { optional: true as const });
}

/** An array of at most `max` elements (default 100 000), each valid for `check`. */
export function arrayOf<T>(check: Check<T>, max = 100_000): Check<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new SchemaError(path, `expected an array, got ${describe(value)}`);
    if (value.length > max) throw new SchemaError(path, `more than ${max} elements`);
    return value.map((v, i) => check(v, `${path}[${i}]`));
  };
}

/** The keys of a shape whose member may be absent ({@link optional}). */
type OptionalKeys<S> = { [K in keyof S]: S[K] extends { readonly optional: true } ? K : never }[keyof S];

/**
 * Output type of {@link object}: every member of the shape, with its checked type; a member marked
 * {@link optional} is an optional property (absent, never present as undefined, as the result leaves it out).
 */
export type ObjectOf<S extends Record<string, Check<unknown>>> = {
  -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Checked<S[K]>;
} & { -readonly [K in OptionalKeys<S>]?: Checked<S[K]> };

/**
 * A plain object with the members of `shape`. With `exact` (requests) an unknown member is an error; without it
 * (answers from a possibly newer daemon) unknown members are dropped. Only the shape's keys are copied.
 */
export function object<S extends Record<string, Check<unknown>>>(shape: S, exact: boolean): Check<ObjectOf<S>> {
  return (value, path) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new SchemaError(path, `expected an object, got ${describe(value)}`);
    }
    const record = value as Record<string, unknown>;
    if (exact) {
      for (const key of Object.keys(record)) {
        if (!Object.hasOwn(shape, key))
          throw new SchemaError(path, `unknown member ${JSON.stringify(key.slice(0, 40))}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      if (!Object.hasOwn(record, key)) {
        if (check.optional) continue;
        throw new SchemaError(path, `missing member "${key}"`);
      }
      out[key] = check(record[key], `${path}.${key}`);
    }
    return out as ObjectOf<S>;
  };
}
