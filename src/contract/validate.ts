/**
 * Checks for the inputs of workflows and of the CLI's run files. Pure TypeScript with
 * no Node imports: workflows run these in their deterministic sandbox, and the CLI runs
 * the same schema at the edge, so a bad run file and a bad `temporal workflow start`
 * get the same message: which key, what was expected, what was given.
 */
import { STORAGE_SCHEMES, WRITABLE_SCHEMES } from '../storage/schemes.js';

/** A value that does not match its schema; `key` is its path from the input's root. */
export class InputSchemaError extends Error {
  override name = 'InvalidWorkflowInput';
  constructor(
    readonly key: string,
    readonly expected: string,
    got: unknown,
    missing = false,
  ) {
    super(`${key}: expected ${expected}, ${missing ? 'but it is missing' : `got ${show(got)}`}`);
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export interface Check<T> {
  (value: unknown, key: string): T;
  /** Said in the message when the value is missing or wrong. */
  readonly expected: string;
  readonly optional?: boolean;
}

const check = <T>(expected: string, fn: (v: unknown, key: string) => T, optional = false): Check<T> =>
  Object.assign((v: unknown, key: string) => fn(v, key), { expected, optional });

const fail = (key: string, expected: string, got: unknown): never => {
  throw new InputSchemaError(key, expected, got);
};

export const optional = <T>(c: Check<T>): Check<T | undefined> =>
  check(c.expected, (v, key) => (v === undefined ? undefined : c(v, key)), true);

export const string = (o: { nonEmpty?: boolean; pattern?: RegExp; what?: string } = {}): Check<string> => {
  const expected = o.what ?? (o.nonEmpty ? 'a non-empty string' : 'a string');
  return check(expected, (v, key) => {
    if (typeof v !== 'string' || (o.nonEmpty && v === '') || (o.pattern && !o.pattern.test(v))) fail(key, expected, v);
    return v as string;
  });
};

export const boolean: Check<boolean> = check('true or false', (v, key) =>
  typeof v === 'boolean' ? v : fail(key, 'true or false', v),
);

export const number = (
  o: { integer?: boolean; min?: number; max?: number; above?: number; below?: number } = {},
): Check<number> => {
  const bounds = [
    o.min !== undefined ? `>= ${o.min}` : '',
    o.above !== undefined ? `> ${o.above}` : '',
    o.max !== undefined ? `<= ${o.max}` : '',
    o.below !== undefined ? `< ${o.below}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  const expected = `${o.integer ? 'an integer' : 'a number'}${bounds ? ` ${bounds}` : ''}`;
  return check(expected, (v, key) => {
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (!o.integer || Number.isInteger(v)) &&
      (o.min === undefined || v >= o.min) &&
      (o.max === undefined || v <= o.max) &&
      (o.above === undefined || v > o.above) &&
      (o.below === undefined || v < o.below);
    return ok ? v : fail(key, expected, v);
  });
};

export const positiveInt = number({ integer: true, min: 1 });

export const oneOf = <T extends string>(values: readonly T[]): Check<T> => {
  const expected = `one of ${values.map((x) => `'${x}'`).join(', ')}`;
  return check(expected, (v, key) => ((values as readonly unknown[]).includes(v) ? (v as T) : fail(key, expected, v)));
};

export const array = <T>(item: Check<T>, o: { min?: number } = {}): Check<T[]> => {
  const expected = `a list${o.min ? ` of at least ${o.min}` : ''} of ${item.expected}`;
  return check(expected, (v, key) => {
    if (!Array.isArray(v) || v.length < (o.min ?? 0)) return fail(key, expected, v);
    return v.map((x, i) => item(x, `${key}[${i}]`));
  });
};

/** Anything: for parts another validator owns (e.g. a grid, checked where it is expanded). */
export const anything: Check<unknown> = check('any value', (v) => v);

/** The first check that accepts the value, or an error listing what each expected. */
export const either = <T>(...options: Check<T>[]): Check<T> => {
  const expected = options.map((o) => o.expected).join(', or ');
  return check(expected, (v, key) => {
    for (const o of options) {
      try {
        return o(v, key);
      } catch (e) {
        if (!(e instanceof InputSchemaError)) throw e;
      }
    }
    return fail(key, expected, v);
  });
};

type Shape = Record<string, Check<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]: S[K] extends Check<infer T> ? T : never };

/**
 * An object with exactly these keys: an unknown key is an error (a misspelt option
 * would otherwise be ignored silently), a missing required one too.
 */
export const object = <S extends Shape>(shape: S, what = 'an object'): Check<Parsed<S>> =>
  check(what, (v, key) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(key, what, v);
    const record = v as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      if (!(k in shape))
        throw new InputSchemaError(`${key}.${k}`, `no such key (known: ${Object.keys(shape).join(', ')})`, record[k]);
    }
    for (const [k, c] of Object.entries(shape)) {
      if (record[k] === undefined && !c.optional)
        throw new InputSchemaError(`${key}.${k}`, c.expected, undefined, true);
      c(record[k], `${key}.${k}`);
    }
    return record as Parsed<S>;
  });

/** Schemes the storage module reads and writes. */
export const URI_SCHEMES = WRITABLE_SCHEMES;
/** Schemes it only reads from too: inputs may also be on a web server (read-only). */
export const INPUT_URI_SCHEMES = STORAGE_SCHEMES;

/**
 * Why a string is not a storage URI we can use, or undefined. Workers on several
 * machines must agree on where data is, so relative paths and unknown schemes are
 * refused rather than read as paths on whichever worker runs the activity. Outputs
 * take URI_SCHEMES; inputs (`schemes` = INPUT_URI_SCHEMES) also http(s).
 */
export function uriProblem(uri: string, schemes: readonly string[] = URI_SCHEMES): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(uri);
  if (!m) return 'a URI such as s3://bucket/key or file:///absolute/path';
  const [, given, rest] = m as unknown as [string, string, string];
  const scheme = given.toLowerCase();
  if (!schemes.includes(scheme)) {
    const readOnly = (INPUT_URI_SCHEMES as readonly string[]).includes(scheme)
      ? ` (${scheme}:// is read-only: inputs only)`
      : '';
    return `a URI with scheme ${schemes.map((s) => `${s}://`).join(' or ')}${readOnly}`;
  }
  if (scheme === 's3' && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(rest))
    return 'an s3://bucket/key URI with a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)';
  if (scheme === 'file' && !rest.startsWith('/')) return 'a file:///absolute/path URI';
  if ((scheme === 'http' || scheme === 'https') && !/^[^/?#@]+(\/|$)/.test(rest))
    return `an ${scheme}://host/path URL (no credentials in it: set HEPFLOW_HTTP_BEARER_TOKEN)`;
  if (scheme === 'root' && !/^[^/?#@]+\/\/?[^/]/.test(rest))
    return 'a root://host[:port]//absolute/path URL (no credentials in it)';
  return undefined;
}

const uriCheck = (schemes: readonly string[], expected: string): Check<string> =>
  check(expected, (v, key) => {
    if (typeof v !== 'string') return fail(key, expected, v);
    const problem = uriProblem(v, schemes);
    return problem ? fail(key, problem, v) : v;
  });

/** Where a stage writes (or reads what hepflow wrote): s3:// or file://. */
export const uri: Check<string> = uriCheck(URI_SCHEMES, 'a storage URI (s3://bucket/key or file:///path)');
/** Where input files are read from: also http(s)://. */
export const inputUri: Check<string> = uriCheck(
  INPUT_URI_SCHEMES,
  'an input URI (s3://bucket/key, file:///path, http(s)://host/path or root://host//path)',
);

/** Any JSON object, its keys checked by whoever owns them. */
export const plainObject: Check<Record<string, unknown>> = check('an object', (v, key) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(key, 'an object', v),
);
