/**
 * Dataset assembly: from per-file feature Parquet parts to balanced, shuffled
 * train/test Parquet files, the HLF min-max scaler (fit on train only) and a metadata
 * JSON. Works when the data do not fit in memory, by an external shuffle:
 *
 *   pass 0  read the label column of every part → events available per class;
 *   pass 1  stream every row once; keep exactly `perClass` rows of each class (selection
 *           sampling), send exactly `testFraction` of each class's kept rows to test,
 *           append each kept row to a uniformly random bucket file of its split, and
 *           fold train rows into the HLF and particle scalers;
 *   pass 2  per bucket: shuffle an index of its records, append them in that order to the
 *           split's output, reading one record at a time.
 *
 * A uniform bucket followed by a uniform in-bucket shuffle is a uniform permutation.
 * Memory is bounded by one row group per open Parquet file, the bucket writers' buffers
 * and one bucket's record index (bucketRows × ~16 bytes), whatever the rows' size; disk
 * use is one extra copy of the selected rows. Every random decision
 * comes from (seed, purpose) streams, so the same parts and config give the same bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RandomAccessSource } from '../storage/random-access.js';
import { EVENT_CLASSES } from '../physics/schema.js';
import { HlfScalerFit, ParticleScalerFit, type HlfScaler, type ParticleScaler } from './scaler.js';
import { readFeatureLabels, readFeatureRows } from '../parquet/reader.js';
import { ParquetFeatureWriter } from '../parquet/writer.js';
import { BucketWriter, readBucketRecords } from './bucket.js';
import { Rng } from '../contract/random.js';
import { Sampler } from './random.js';
import { InvalidInputError } from '../errors.js';
import { eventLoopTurns } from '../yield.js';

export type DatasetKind = 'dev' | 'full';

/** Total events (train + test) of a 'dev' dataset unless maxEvents says otherwise. */
export const DEV_MAX_EVENTS = 100_000;

export interface AssembleOptions {
  /**
   * Feature Parquet parts: local paths or opened sources (read twice, not closed),
   * optionally with a key that orders them and names them in the metadata (default:
   * their URI). Keys that do not depend on where parts were written make the dataset
   * independent of it.
   */
  readonly parts: readonly (string | RandomAccessSource | KeyedPart)[];
  /** Local directory for train.parquet, test.parquet, scaler.json, particle-scaler.json, metadata.json. */
  readonly outDir: string;
  readonly kind?: DatasetKind;
  /** Cap on train + test events; default 100,000 for 'dev', none for 'full'. */
  readonly maxEvents?: number;
  readonly seed?: number;
  /** Fraction of each class's events that go to test (default 0.2). */
  readonly testFraction?: number;
  /** Row-group size of the outputs (default 1000 rows: a streaming-training read unit). */
  readonly rowGroupSize?: number;
  /** Target rows per shuffle bucket (default 20,000): pass 2 holds an index of one bucket's records. */
  readonly bucketRows?: number;
  /** Class names by label (default: the paper's qcd, ttbar, wjets); every class must have events. */
  readonly classes?: readonly string[];
  /** Scratch directory for bucket files (default <outDir>/.buckets); removed at the end. */
  readonly workDir?: string;
  readonly onProgress?: (p: { pass: 1 | 2; rows: number }) => void | Promise<void>;
}

export interface KeyedPart {
  readonly source: string | RandomAccessSource;
  readonly key: string;
}

export type ClassCounts = Record<string, number>;

export interface DatasetMetadata {
  readonly format: 'hepflow-dataset/1';
  readonly kind: DatasetKind;
  readonly configHash: string;
  readonly config: {
    readonly seed: number;
    readonly testFraction: number;
    readonly maxEvents: number | null;
    readonly rowGroupSize: number;
    readonly bucketRows: number;
    readonly classes: readonly string[];
  };
  /** Events per class in the inputs, and kept per class (train + test). */
  readonly available: ClassCounts;
  readonly perClass: number;
  readonly counts: { readonly train: ClassCounts; readonly test: ClassCounts };
  readonly parts: readonly { readonly key: string; readonly rows: number; readonly counts: ClassCounts }[];
  readonly files: {
    readonly train: string;
    readonly test: string;
    readonly scaler: string;
    readonly particleScaler: string;
  };
}

export interface DatasetResult {
  readonly trainPath: string;
  readonly testPath: string;
  readonly scalerPath: string;
  readonly particleScalerPath: string;
  readonly metadataPath: string;
  readonly scaler: HlfScaler;
  readonly particleScaler: ParticleScaler;
  readonly metadata: DatasetMetadata;
}

const PURPOSE = { select: 1, split: 2, bucket: 3, shuffle: 4 } as const;

const uriOf = (p: string | RandomAccessSource) => (typeof p === 'string' ? p : p.uri);
const keyed = (p: string | RandomAccessSource | KeyedPart): KeyedPart =>
  typeof p === 'object' && 'key' in p ? p : { source: p, key: uriOf(p) };

export async function assembleDataset(o: AssembleOptions): Promise<DatasetResult> {
  const kind = o.kind ?? 'dev';
  const config = assemblyConfig(o, kind);
  // A fixed part order makes the result independent of the order parts were listed in.
  const parts = o.parts.map(keyed).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const labels = await countLabels(parts, config.classes);
  const plan = planSplit(labels.available, config);
  const configHash = createHash('sha256')
    .update(JSON.stringify({ kind, config, parts: labels.parts }))
    .digest('hex');

  await mkdir(o.outDir, { recursive: true });
  const workDir = o.workDir ?? join(o.outDir, '.buckets');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  try {
    const scattered = await scatter(parts, labels.available, plan, config, workDir, o.onProgress);
    const trainPath = join(o.outDir, 'train.parquet');
    const testPath = join(o.outDir, 'test.parquet');
    await shuffleBuckets(scattered, { train: trainPath, test: testPath }, config, workDir, o.onProgress);

    const scaler = scattered.hlfFit.scaler();
    const scalerPath = join(o.outDir, 'scaler.json');
    await writeFile(scalerPath, JSON.stringify(scaler, null, 2));
    const particleScaler = scattered.particleFit.scaler();
    const particleScalerPath = join(o.outDir, 'particle-scaler.json');
    await writeFile(particleScalerPath, JSON.stringify(particleScaler, null, 2));
    const { classes } = config;
    const metadata: DatasetMetadata = {
      format: 'hepflow-dataset/1',
      kind,
      configHash,
      config,
      available: named(classes, labels.available),
      perClass: plan.perClass,
      counts: { train: named(classes, scattered.counts.train), test: named(classes, scattered.counts.test) },
      parts: labels.parts,
      files: {
        train: 'train.parquet',
        test: 'test.parquet',
        scaler: 'scaler.json',
        particleScaler: 'particle-scaler.json',
      },
    };
    const metadataPath = join(o.outDir, 'metadata.json');
    await writeFile(metadataPath, JSON.stringify(metadata, null, 2));
    return { trainPath, testPath, scalerPath, particleScalerPath, metadataPath, scaler, particleScaler, metadata };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

type AssemblyConfig = DatasetMetadata['config'];

/** The options with their defaults, checked. */
function assemblyConfig(o: AssembleOptions, kind: DatasetKind): AssemblyConfig {
  const seed = o.seed ?? 42;
  const testFraction = o.testFraction ?? 0.2;
  const rowGroupSize = o.rowGroupSize ?? 1000;
  const bucketRows = o.bucketRows ?? 20_000;
  const classes = o.classes ?? EVENT_CLASSES;
  const maxEvents = o.maxEvents ?? (kind === 'dev' ? DEV_MAX_EVENTS : null);
  if (!(testFraction > 0 && testFraction < 1))
    throw new InvalidInputError(`testFraction must be in (0, 1), got ${testFraction}`);
  if (!Number.isInteger(bucketRows) || bucketRows < 1)
    throw new InvalidInputError(`bucketRows must be a positive integer, got ${bucketRows}`);
  if (maxEvents !== null && !(maxEvents >= classes.length))
    throw new InvalidInputError(`maxEvents must be at least ${classes.length}, got ${maxEvents}`);
  if (o.parts.length === 0) throw new InvalidInputError('dataset assembly needs at least one feature part');
  return { seed, testFraction, maxEvents, rowGroupSize, bucketRows, classes: [...classes] };
}

/** Pass 0: the label column of every part → events available per class, and per part. */
async function countLabels(
  parts: readonly KeyedPart[],
  classes: readonly string[],
): Promise<{ available: number[]; parts: DatasetMetadata['parts'] }> {
  const nClasses = classes.length;
  const available = new Array<number>(nClasses).fill(0);
  const partInfo: { key: string; rows: number; counts: ClassCounts }[] = [];
  for (const { source: part, key } of parts) {
    const labels = await readFeatureLabels(part);
    const counts = new Array<number>(nClasses).fill(0);
    for (const l of labels) {
      if (!(l >= 0 && l < nClasses))
        throw new InvalidInputError(
          `${uriOf(part)}: label ${l} outside 0..${nClasses - 1} (classes ${classes.join(', ')})`,
        );
      counts[l]!++;
    }
    counts.forEach((c, l) => {
      available[l]! += c;
    });
    partInfo.push({ key, rows: labels.length, counts: named(classes, counts) });
  }
  const empty = classes.filter((_, l) => available[l] === 0);
  if (empty.length > 0)
    throw new InvalidInputError(`cannot balance: no events of class ${empty.join(', ')} in ${parts.length} parts`);
  return { available, parts: partInfo };
}

interface SplitPlan {
  /** Events kept of every class, train + test. */
  readonly perClass: number;
  readonly testPerClass: number;
  readonly buckets: { readonly train: number; readonly test: number };
}

/** How many events of each class to keep, how many go to test, and how many shuffle buckets each split needs. */
function planSplit(available: readonly number[], config: AssemblyConfig): SplitPlan {
  const nClasses = config.classes.length;
  let perClass = Math.min(...available);
  if (config.maxEvents !== null) perClass = Math.min(perClass, Math.floor(config.maxEvents / nClasses));
  const testPerClass = Math.round(perClass * config.testFraction);
  const trainPerClass = perClass - testPerClass;
  if (trainPerClass === 0 || testPerClass === 0) {
    throw new InvalidInputError(
      `too few events to split: ${perClass} per class with testFraction ${config.testFraction}`,
    );
  }
  const buckets = {
    train: Math.max(1, Math.ceil((trainPerClass * nClasses) / config.bucketRows)),
    test: Math.max(1, Math.ceil((testPerClass * nClasses) / config.bucketRows)),
  };
  return { perClass, testPerClass, buckets };
}

interface Scattered {
  readonly buckets: SplitPlan['buckets'];
  readonly counts: { readonly train: number[]; readonly test: number[] };
  readonly hlfFit: HlfScalerFit;
  readonly particleFit: ParticleScalerFit;
  /** Strings are stored in buckets as indices into these tables. */
  readonly classNames: string[];
  readonly uris: string[];
}

/**
 * Pass 1: streams every row once; keeps exactly perClass rows of each class, sends
 * testPerClass of them to test, appends each kept row to a random bucket file of its
 * split, and fits the scalers on train rows.
 */
async function scatter(
  parts: readonly KeyedPart[],
  available: readonly number[],
  plan: SplitPlan,
  config: AssemblyConfig,
  workDir: string,
  onProgress: AssembleOptions['onProgress'],
): Promise<Scattered> {
  const { seed, classes } = config;
  const bucketFiles = (split: 'train' | 'test') =>
    Promise.all(
      Array.from({ length: plan.buckets[split] }, (_, b) => BucketWriter.create(join(workDir, `${split}-${b}.bin`))),
    );
  const buckets = { train: await bucketFiles('train'), test: await bucketFiles('test') };
  const select = classes.map(
    (_, l) => new Sampler(available[l]!, plan.perClass, new Rng(seed, PURPOSE.select * 1000 + l)),
  );
  const toTest = classes.map(
    (_, l) => new Sampler(plan.perClass, plan.testPerClass, new Rng(seed, PURPOSE.split * 1000 + l)),
  );
  const bucketRng = new Rng(seed, PURPOSE.bucket);
  const out: Scattered = {
    buckets: plan.buckets,
    counts: { train: new Array<number>(classes.length).fill(0), test: new Array<number>(classes.length).fill(0) },
    hlfFit: new HlfScalerFit(),
    particleFit: new ParticleScalerFit(),
    classNames: [],
    uris: [],
  };
  const indexOf = (table: string[], index: Map<string, number>, s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = table.length;
      table.push(s);
      index.set(s, i);
    }
    return i;
  };
  const uriIndex = new Map<string, number>();
  const nameIndex = new Map<string, number>();
  let seen = 0;
  // Heartbeat timers must run during long passes over in-memory rows.
  const turn = eventLoopTurns();
  for (const { source: part } of parts) {
    for await (const row of readFeatureRows(part)) {
      await turn();
      seen++;
      const l = row.label;
      if (!select[l]!.take()) continue;
      const ui = indexOf(out.uris, uriIndex, row.sourceUri);
      const ni = indexOf(out.classNames, nameIndex, row.className);
      const split = toTest[l]!.take() ? 'test' : 'train';
      out.counts[split][l]!++;
      if (split === 'train') {
        out.hlfFit.add(row.hlf);
        out.particleFit.add(row.particles);
      }
      await buckets[split][bucketRng.int(plan.buckets[split])]!.append(row, ni, ui);
    }
    await onProgress?.({ pass: 1, rows: seen });
  }
  for (const b of [...buckets.train, ...buckets.test]) await b.close();
  return out;
}

/** Pass 2: per bucket, appends its records in a uniformly random order to its split's Parquet file. */
async function shuffleBuckets(
  scattered: Scattered,
  paths: { readonly train: string; readonly test: string },
  config: AssemblyConfig,
  workDir: string,
  onProgress: AssembleOptions['onProgress'],
): Promise<void> {
  const shuffleRng = new Rng(config.seed, PURPOSE.shuffle);
  const turn = eventLoopTurns();
  let written = 0;
  for (const split of ['train', 'test'] as const) {
    // No footer metadata of our own: parquet-wasm writes footer keys in a hash map's
    // order, which varies between processes, so two keys would make identical datasets
    // differ in bytes. The split is the file's name and the config hash is in metadata.json.
    const w = await ParquetFeatureWriter.open(paths[split], { rowGroupSize: config.rowGroupSize });
    for (let b = 0; b < scattered.buckets[split]; b++) {
      const file = join(workDir, `${split}-${b}.bin`);
      const shuffled = (n: number) => {
        const order = Array.from({ length: n }, (_, i) => i);
        shuffleRng.shuffle(order);
        return order;
      };
      for await (const r of readBucketRecords(file, scattered.classNames, scattered.uris, shuffled)) {
        await turn();
        await w.write(r);
        written++;
      }
      await rm(file);
      await onProgress?.({ pass: 2, rows: written });
    }
    await w.close();
  }
}

function named(classes: readonly string[], counts: readonly number[]): ClassCounts {
  return Object.fromEntries(classes.map((c, l) => [c, counts[l]!]));
}
