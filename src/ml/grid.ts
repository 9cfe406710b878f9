/**
 * Hyper-parameter grid search, domain side: validate a grid config, expand it into
 * points with stable ids, apply a point to a base training config, and pick the best
 * point by a validation metric. The workflow that fans the points out is elsewhere.
 */
import { validateTrainConfig, type TrainConfig } from './training/config.js';

/**
 * A grid: each key lists the values to try. `layers` lists whole hidden-layer stacks;
 * `hiddenSizes` lists the candidates per layer position and expands to their product
 * (the reference's {50,100,150}×{20,50,100}×{10,20,50}). Use one or the other.
 */
export interface GridConfig {
  readonly batch?: readonly number[];
  readonly epochs?: readonly number[];
  readonly layers?: readonly (readonly number[])[];
  readonly hiddenSizes?: readonly (readonly number[])[];
  readonly learningRate?: readonly number[];
  readonly gruUnits?: readonly number[];
  readonly dropout?: readonly number[];
  readonly inclusiveDense?: readonly number[];
  readonly maxLen?: readonly number[];
}

export interface GridParams {
  batchSize?: number;
  epochs?: number;
  hiddenLayers?: number[];
  learningRate?: number;
  gruUnits?: number;
  dropout?: number;
  inclusiveDense?: number;
  maxLen?: number;
}

export interface GridPoint {
  /** Stable across runs and machines: derived from the parameter values only. */
  readonly id: string;
  readonly params: Readonly<GridParams>;
}

/** Keys in expansion and id order. */
const KEYS = ['batch', 'epochs', 'layers', 'learningRate', 'gruUnits', 'dropout', 'inclusiveDense', 'maxLen'] as const;
const ID_PREFIX: Record<(typeof KEYS)[number], string> = {
  batch: 'b',
  epochs: 'e',
  layers: 'l',
  learningRate: 'lr',
  gruUnits: 'g',
  dropout: 'd',
  inclusiveDense: 'i',
  maxLen: 't',
};
export const MAX_GRID_POINTS = 10_000;

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function product<T>(lists: readonly (readonly T[])[]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

/** Checks a grid read from JSON/YAML; errors name the key and the bad value. */
export function validateGridConfig(raw: unknown): GridConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('grid config must be an object of value lists');
  const g = raw as Record<string, unknown>;
  const known = new Set<string>([...KEYS, 'hiddenSizes']);
  for (const key of Object.keys(g)) {
    if (!known.has(key)) throw new Error(`grid config: unknown key '${key}' (known: ${[...known].join(', ')})`);
  }
  const list = (key: string): unknown[] | undefined => {
    const v = g[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0)
      throw new Error(`grid config: '${key}' must be a non-empty list, got ${JSON.stringify(v)}`);
    const seen = new Set(v.map((x) => JSON.stringify(x)));
    if (seen.size !== v.length) throw new Error(`grid config: '${key}' lists a value twice: ${JSON.stringify(v)}`);
    return v;
  };
  const each = (key: string, ok: (x: unknown) => boolean, what: string) => {
    for (const x of list(key) ?? [])
      if (!ok(x)) throw new Error(`grid config: '${key}' value ${JSON.stringify(x)} is not ${what}`);
  };
  const isStack = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every(isPosInt);
  each('batch', isPosInt, 'a positive integer');
  each('epochs', isPosInt, 'a positive integer');
  each('gruUnits', isPosInt, 'a positive integer');
  each('inclusiveDense', isPosInt, 'a positive integer');
  each('maxLen', isPosInt, 'a positive integer');
  each('learningRate', (x) => typeof x === 'number' && x > 0 && Number.isFinite(x), 'a positive number');
  each('dropout', (x) => typeof x === 'number' && x >= 0 && x < 1, 'in [0, 1)');
  each('layers', isStack, 'a non-empty list of positive integers');
  each('hiddenSizes', isStack, 'a non-empty list of positive integers (the candidates for one layer)');
  if (g['layers'] !== undefined && g['hiddenSizes'] !== undefined) {
    throw new Error(
      "grid config: give either 'layers' (whole stacks) or 'hiddenSizes' (candidates per layer), not both",
    );
  }
  const size =
    KEYS.reduce((n, k) => n * ((g[k] as unknown[] | undefined)?.length ?? 1), 1) *
    ((g['hiddenSizes'] as number[][] | undefined)?.reduce((n, c) => n * c.length, 1) ?? 1);
  if (size > MAX_GRID_POINTS) throw new Error(`grid config: ${size} points exceed the limit of ${MAX_GRID_POINTS}`);
  return g;
}

function formatId(key: (typeof KEYS)[number], v: number | readonly number[]): string {
  return ID_PREFIX[key] + (Array.isArray(v) ? v.join('x') : String(v));
}

/** All points of the grid, in a fixed order (first key varies slowest). */
export function expandGrid(raw: unknown): GridPoint[] {
  const g = validateGridConfig(raw);
  const layers = g.layers ?? (g.hiddenSizes ? product(g.hiddenSizes) : undefined);
  const dims: { key: (typeof KEYS)[number]; values: readonly (number | readonly number[])[] }[] = [];
  for (const key of KEYS) {
    const values = key === 'layers' ? layers : g[key];
    if (values !== undefined) dims.push({ key, values });
  }
  return product(dims.map((d) => d.values)).map((combo) => {
    const params: GridParams = {};
    const id: string[] = [];
    combo.forEach((v, i) => {
      const key = dims[i]!.key;
      id.push(formatId(key, v));
      switch (key) {
        case 'batch':
          params.batchSize = v as number;
          break;
        case 'layers':
          params.hiddenLayers = [...(v as number[])];
          break;
        default:
          params[key] = v as number;
      }
    });
    return { id: id.join('-') || 'default', params };
  });
}

/** The training config of one point: `base` with the point's values. */
export function applyGridPoint(base: TrainConfig, point: GridPoint): TrainConfig {
  const { batchSize, epochs, ...model } = point.params;
  const c: TrainConfig = {
    ...base,
    batchSize: batchSize ?? base.batchSize,
    epochs: epochs ?? base.epochs,
    model: { ...base.model, ...model },
  };
  validateTrainConfig(c);
  return c;
}

export interface GridOutcome {
  readonly id: string;
  /** Validation metrics of the point's run, e.g. { valLoss, valMeanAuc, valAccuracy }. */
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * The best outcome by `metric` (`maximize` for AUC/accuracy, not for a loss). Points
 * without a finite value are skipped; equal values go to the smallest id, so the choice
 * does not depend on the order in which parallel runs finished.
 */
export function selectBest(outcomes: readonly GridOutcome[], metric: string, maximize: boolean): GridOutcome {
  let best: GridOutcome | undefined;
  for (const o of outcomes) {
    const v = o.metrics[metric];
    if (v === undefined || !Number.isFinite(v)) continue;
    if (best === undefined) {
      best = o;
      continue;
    }
    const b = best.metrics[metric]!;
    const better = maximize ? v > b : v < b;
    if (better || (v === b && o.id < best.id)) best = o;
  }
  if (best === undefined) {
    const missing = outcomes.map(
      (o) => `${o.id}: ${o.metrics[metric] === undefined ? `no ${metric}` : `${metric} ${o.metrics[metric]}`}`,
    );
    throw new Error(
      `no grid point has a finite '${metric}' (${missing.join('; ') || 'no outcomes'}): ` +
        `the validation split is too small or lacks classes; use a larger dataset or another selection metric`,
    );
  }
  return best;
}
