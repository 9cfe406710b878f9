/**
 * Hyper-parameter tuning, domain side and sandbox-safe (the tune workflow imports it as
 * values): search spaces and their validation, seeded random and quasi-random (Halton)
 * sampling, and asynchronous successive halving (ASHA) with Hyperband brackets over it.
 * Pure and deterministic: the same study config gives the same trials and decisions on
 * every machine and in every replay. docs/tuning.md explains the choices.
 */
import { Rng } from './random.js';

/** One hyper-parameter's range. `int` bounds are inclusive. */
export type ParamRange =
  | { readonly type: 'uniform'; readonly min: number; readonly max: number }
  | { readonly type: 'loguniform'; readonly min: number; readonly max: number }
  | { readonly type: 'int'; readonly min: number; readonly max: number; readonly log?: boolean }
  | { readonly type: 'choice'; readonly values: readonly (number | readonly number[])[] };

/**
 * The keys a trial may vary, as the grid names them (src/ml/grid.ts GridParams), plus
 * `hiddenUnits`: the width of the first hidden layer, the others scaled with it, so a
 * scalar range keeps the spec's depth and funnel shape.
 */
export const TUNABLE_KEYS = [
  'batchSize',
  'learningRate',
  'dropout',
  'hiddenUnits',
  'hiddenLayers',
  'gruUnits',
  'inclusiveDense',
  'maxLen',
] as const;
export type TunableKey = (typeof TUNABLE_KEYS)[number];
export type SearchSpace = Readonly<Partial<Record<TunableKey, ParamRange>>>;
export type TrialParams = Readonly<Partial<Record<TunableKey, number | readonly number[]>>>;

/** Keys whose values must be positive integers. */
const INTEGER_KEYS: readonly TunableKey[] = ['batchSize', 'hiddenUnits', 'gruUnits', 'inclusiveDense', 'maxLen'];
export const MAX_TRIALS = 10_000;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkValue(key: TunableKey, v: unknown): void {
  const bad = (what: string): never => {
    throw new Error(`search space: '${key}' value ${JSON.stringify(v)} is not ${what}`);
  };
  if (key === 'hiddenLayers') {
    if (!(Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x > 0)))
      bad('a non-empty list of positive integers');
    return;
  }
  if (!finite(v)) bad('a number');
  if (INTEGER_KEYS.includes(key) && !(Number.isInteger(v) && (v as number) > 0)) bad('a positive integer');
  if (key === 'learningRate' && !((v as number) > 0)) bad('a positive number');
  if (key === 'dropout' && !((v as number) >= 0 && (v as number) < 1)) bad('in [0, 1)');
}

function checkRange(key: TunableKey, raw: unknown): ParamRange {
  const r = raw as Record<string, unknown>;
  const where = `search space: '${key}'`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${where} must be a range { type, ... }, got ${JSON.stringify(raw)}`);
  const extra = (allowed: string[]) => {
    for (const k of Object.keys(r))
      if (!allowed.includes(k)) throw new Error(`${where}: unknown field '${k}' for type '${String(r.type)}'`);
  };
  if (r.type === 'choice') {
    extra(['type', 'values']);
    if (!Array.isArray(r.values) || r.values.length === 0)
      throw new Error(`${where} choice needs a non-empty 'values' list, got ${JSON.stringify(r.values)}`);
    for (const v of r.values) checkValue(key, v);
    return raw as ParamRange;
  }
  if (!['uniform', 'loguniform', 'int'].includes(r.type as string))
    throw new Error(`${where}: type must be uniform, loguniform, int or choice, got ${JSON.stringify(r.type)}`);
  if (key === 'hiddenLayers') throw new Error(`${where} lists whole stacks: only a 'choice' fits it`);
  extra(r.type === 'int' ? ['type', 'min', 'max', 'log'] : ['type', 'min', 'max']);
  checkValue(key, r.min);
  checkValue(key, r.max);
  if (!((r.min as number) <= (r.max as number)))
    throw new Error(`${where}: min ${String(r.min)} is above max ${String(r.max)}`);
  if (r.type === 'int' && !(Number.isInteger(r.min) && Number.isInteger(r.max)))
    throw new Error(`${where}: an int range needs integer bounds, got ${String(r.min)}..${String(r.max)}`);
  if (r.type !== 'int' && INTEGER_KEYS.includes(key))
    throw new Error(`${where} takes integers: use type 'int' or 'choice', not '${String(r.type)}'`);
  if ((r.type === 'loguniform' || r.log === true) && !((r.min as number) > 0))
    throw new Error(`${where}: a log scale needs min > 0, got ${String(r.min)}`);
  if (r.log !== undefined && typeof r.log !== 'boolean')
    throw new Error(`${where}: 'log' must be true or false, got ${JSON.stringify(r.log)}`);
  return raw as ParamRange;
}

/** Checks a search space read from JSON/YAML; errors name the key and the bad value. */
export function validateSearchSpace(raw: unknown): SearchSpace {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`search space must be an object of ranges, got ${JSON.stringify(raw)}`);
  const out: Partial<Record<TunableKey, ParamRange>> = {};
  for (const [key, range] of Object.entries(raw)) {
    if (!(TUNABLE_KEYS as readonly string[]).includes(key))
      throw new Error(`search space: unknown key '${key}' (known: ${TUNABLE_KEYS.join(', ')})`);
    out[key as TunableKey] = checkRange(key as TunableKey, range);
  }
  if (out.hiddenUnits && out.hiddenLayers)
    throw new Error("search space: give either 'hiddenUnits' (a width) or 'hiddenLayers' (whole stacks), not both");
  return out;
}

/** A unit-interval coordinate in [0, 1) mapped onto a range. */
export function fromUnit(range: ParamRange, u: number): number | readonly number[] {
  switch (range.type) {
    case 'choice':
      return range.values[Math.min(range.values.length - 1, Math.floor(u * range.values.length))]!;
    case 'uniform':
      return range.min + u * (range.max - range.min);
    case 'loguniform':
      return Math.exp(Math.log(range.min) + u * (Math.log(range.max) - Math.log(range.min)));
    case 'int': {
      // Each integer gets an equal share of the unit interval (of its log on a log scale).
      const v = range.log
        ? Math.floor(Math.exp(Math.log(range.min) + u * (Math.log(range.max + 1) - Math.log(range.min))))
        : Math.floor(range.min + u * (range.max - range.min + 1));
      return Math.min(range.max, Math.max(range.min, v));
    }
  }
}

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/** The van der Corput radical inverse of `index` in `base`: the Halton sequence's coordinate. */
export function radicalInverse(index: number, base: number): number {
  let inv = 0;
  let f = 1 / base;
  for (let i = index; i > 0; i = Math.floor(i / base), f /= base) inv += (i % base) * f;
  return inv;
}

export type Sampler = 'random' | 'halton';

/**
 * Trial `index`'s point of the unit cube, one coordinate per dimension. Independent of
 * how many trials the study has, so adding trials keeps the earlier ones. Halton points
 * are shifted by a seeded offset (a Cranley–Patterson rotation), so another seed gives
 * another, equally even, set; index 0 is skipped (the unshifted sequence starts at the
 * cube's corner).
 */
export function unitPoint(sampler: Sampler, seed: number, index: number, dims: number): number[] {
  if (dims > PRIMES.length) throw new Error(`quasi-random sampling supports up to ${PRIMES.length} dimensions`);
  if (sampler === 'random') {
    const rng = new Rng(seed, index + 1);
    return Array.from({ length: dims }, () => rng.next());
  }
  const shift = new Rng(seed, 0);
  return PRIMES.slice(0, dims).map((p) => {
    const x = radicalInverse(index + 1, p) + shift.next();
    return x - Math.floor(x);
  });
}

/** Trial `index`'s parameters (keys in the space's TUNABLE_KEYS order, so the JSON key order does not matter). */
export function sampleTrial(space: SearchSpace, sampler: Sampler, seed: number, index: number): TrialParams {
  const keys = TUNABLE_KEYS.filter((k) => space[k] !== undefined);
  const u = unitPoint(sampler, seed, index, keys.length);
  return Object.fromEntries(keys.map((k, i) => [k, fromUnit(space[k]!, u[i]!)]));
}

/** Stable trial ids: `t000`, `t001`, ... (sorting by id sorts by index). */
export const trialId = (index: number): string => `t${String(index).padStart(3, '0')}`;

/**
 * Successive halving's settings: rung k trains to `minEpochs·eta^k` epochs, capped at
 * `maxEpochs` (the last rung). `brackets` above 1 is Hyperband: bracket b starts its
 * trials at rung b, trading how many trials are tried against how long each first trains.
 */
export interface HalvingConfig {
  readonly minEpochs: number;
  readonly maxEpochs: number;
  readonly eta: number;
  readonly brackets: number;
}

export function validateHalving(c: HalvingConfig): HalvingConfig {
  const int = (k: keyof HalvingConfig, min: number) => {
    if (!(Number.isInteger(c[k]) && c[k] >= min))
      throw new Error(`tuning: '${k}' must be an integer ≥ ${min}, got ${JSON.stringify(c[k])}`);
  };
  int('minEpochs', 1);
  int('maxEpochs', 1);
  int('eta', 2);
  int('brackets', 1);
  if (c.minEpochs > c.maxEpochs) throw new Error(`tuning: minEpochs ${c.minEpochs} is above maxEpochs ${c.maxEpochs}`);
  if (c.brackets > rungEpochs(c).length)
    throw new Error(
      `tuning: ${c.brackets} brackets need ${c.brackets} rungs, but minEpochs ${c.minEpochs}, eta ${c.eta}, maxEpochs ${c.maxEpochs} give ${rungEpochs(c).length}`,
    );
  return c;
}

/** The epochs each rung trains to: minEpochs, ·eta, ·eta², ..., ending at exactly maxEpochs. */
export function rungEpochs(c: Pick<HalvingConfig, 'minEpochs' | 'maxEpochs' | 'eta'>): number[] {
  const out: number[] = [];
  for (let e = c.minEpochs; e < c.maxEpochs; e *= c.eta) out.push(e);
  out.push(c.maxEpochs);
  return out;
}

/** Which bracket trial `index` belongs to: round-robin, so every bracket gets its share as trials are added. */
export const bracketOf = (c: HalvingConfig, index: number): number => index % c.brackets;

/** A finished trial-rung: `score` higher is better (a loss is negated); undefined when the training failed. */
export interface RungResult {
  readonly index: number;
  readonly rung: number;
  readonly score: number | undefined;
}

export interface Job {
  readonly index: number;
  readonly rung: number;
}

export type Decision = { readonly next: Job } | { readonly wait: true } | { readonly done: true };

const better = (a: RungResult, b: RungResult): number =>
  (b.score ?? -Infinity) - (a.score ?? -Infinity) || a.index - b.index;

/**
 * ASHA's rule (Li et al., 2020) for a free slot: promote the best waiting trial of the
 * highest rung where one is in the top 1/eta of that rung's results so far (within its
 * bracket); otherwise start the next trial; otherwise wait for what runs, or stop. A
 * failed trial-rung counts as the worst result and is never promoted. Ties go to the
 * lower index, so decisions do not depend on the order in which results arrived.
 */
export function nextJob(
  c: HalvingConfig,
  trials: number,
  results: readonly RungResult[],
  running: readonly Job[],
): Decision {
  const top = rungEpochs(c).length - 1;
  const taken = new Set([...results, ...running].map((j) => `${j.index}/${j.rung}`));
  for (let rung = top - 1; rung >= 0; rung--) {
    for (let b = 0; b < c.brackets; b++) {
      const here = results.filter((r) => r.rung === rung && bracketOf(c, r.index) === b).sort(better);
      const promotable = here.slice(0, Math.floor(here.length / c.eta));
      const pick = promotable.find((r) => r.score !== undefined && !taken.has(`${r.index}/${rung + 1}`));
      if (pick) return { next: { index: pick.index, rung: rung + 1 } };
    }
  }
  const started = new Set([...results, ...running].map((j) => j.index));
  for (let index = 0; index < trials; index++) {
    if (!started.has(index)) return { next: { index, rung: bracketOf(c, index) } };
  }
  return running.length > 0 ? { wait: true } : { done: true };
}

/** Each trial's last finished rung: the model its output holds now. */
export function latestRungs(results: readonly RungResult[]): RungResult[] {
  const last = new Map<number, RungResult>();
  for (const r of results) if ((last.get(r.index)?.rung ?? -1) < r.rung) last.set(r.index, r);
  return [...last.values()].sort((a, b) => a.index - b.index);
}

/** Epochs a study trained in all: each trial-rung trains on from the trial's previous rung. */
export function epochsTrained(c: HalvingConfig, results: readonly RungResult[]): number {
  const epochs = rungEpochs(c);
  return results.reduce((s, r) => {
    const from = r.rung === bracketOf(c, r.index) ? 0 : epochs[r.rung - 1]!;
    return s + epochs[r.rung]! - from;
  }, 0);
}
