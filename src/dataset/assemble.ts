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
 *   pass 2  per bucket: load it, shuffle it in memory, append it to the split's output.
 *
 * A uniform bucket followed by a uniform in-bucket shuffle is a uniform permutation.
 * Memory is bounded by one bucket (bucketRows rows) plus one row group per open
 * Parquet file; disk use is one extra copy of the selected rows. Every random decision
 * comes from (seed, purpose) streams, so the same parts and config give the same bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RandomAccessSource } from '../storage/random-access.js';
import { EVENT_CLASSES } from '../physics/schema.js';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES } from '../physics/schema.js';
import { type HlfScaler, type ParticleScaler } from './scaler.js';
import { readFeatureLabels, readFeatureRows } from '../parquet/reader.js';
import { ParquetFeatureWriter } from '../parquet/writer.js';
import { BucketWriter, readBucket } from './bucket.js';
import { Rng, Sampler } from './random.js';
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
  /** Target rows per shuffle bucket (default 20,000): bounds memory in pass 2. */
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
    readonly seed: number; readonly testFraction: number; readonly maxEvents: number | null;
    readonly rowGroupSize: number; readonly bucketRows: number; readonly classes: readonly string[];
  };
  /** Events per class in the inputs, and kept per class (train + test). */
  readonly available: ClassCounts;
  readonly perClass: number;
  readonly counts: { readonly train: ClassCounts; readonly test: ClassCounts };
  readonly parts: readonly { readonly key: string; readonly rows: number; readonly counts: ClassCounts }[];
  readonly files: { readonly train: string; readonly test: string; readonly scaler: string; readonly particleScaler: string };
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
  const seed = o.seed ?? 42;
  const testFraction = o.testFraction ?? 0.2;
  const rowGroupSize = o.rowGroupSize ?? 1000;
  const bucketRows = o.bucketRows ?? 20_000;
  const classes = o.classes ?? EVENT_CLASSES;
  const maxEvents = o.maxEvents ?? (kind === 'dev' ? DEV_MAX_EVENTS : null);
  if (!(testFraction > 0 && testFraction < 1)) throw new InvalidInputError(`testFraction must be in (0, 1), got ${testFraction}`);
  if (!Number.isInteger(bucketRows) || bucketRows < 1) throw new InvalidInputError(`bucketRows must be a positive integer, got ${bucketRows}`);
  if (maxEvents !== null && !(maxEvents >= classes.length)) throw new InvalidInputError(`maxEvents must be at least ${classes.length}, got ${maxEvents}`);
  if (o.parts.length === 0) throw new InvalidInputError('dataset assembly needs at least one feature part');
  // A fixed part order makes the result independent of the order parts were listed in.
  const parts = o.parts.map(keyed).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  // Pass 0: labels.
  const nClasses = classes.length;
  const available = new Array<number>(nClasses).fill(0);
  const partInfo: { key: string; rows: number; counts: ClassCounts }[] = [];
  for (const { source: part, key } of parts) {
    const labels = await readFeatureLabels(part);
    const counts = new Array<number>(nClasses).fill(0);
    for (const l of labels) {
      if (!(l >= 0 && l < nClasses)) throw new InvalidInputError(`${uriOf(part)}: label ${l} outside 0..${nClasses - 1} (classes ${classes.join(', ')})`);
      counts[l]!++;
    }
    counts.forEach((c, l) => { available[l]! += c; });
    partInfo.push({ key, rows: labels.length, counts: named(classes, counts) });
  }
  const empty = classes.filter((_, l) => available[l] === 0);
  if (empty.length > 0) throw new InvalidInputError(`cannot balance: no events of class ${empty.join(', ')} in ${parts.length} parts`);
  let perClass = Math.min(...available);
  if (maxEvents !== null) perClass = Math.min(perClass, Math.floor(maxEvents / nClasses));
  const testPerClass = Math.round(perClass * testFraction);
  const trainPerClass = perClass - testPerClass;
  if (trainPerClass === 0 || testPerClass === 0) throw new InvalidInputError(`too few events to split: ${perClass} per class with testFraction ${testFraction}`);

  const config = { seed, testFraction, maxEvents, rowGroupSize, bucketRows, classes: [...classes] };
  const configHash = createHash('sha256').update(JSON.stringify({ kind, config, parts: partInfo })).digest('hex');

  // Pass 1: select, split, scatter into buckets, fit the scaler on train rows.
  await mkdir(o.outDir, { recursive: true });
  const workDir = o.workDir ?? join(o.outDir, '.buckets');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  try {
    const nBuckets = {
      train: Math.max(1, Math.ceil((trainPerClass * nClasses) / bucketRows)),
      test: Math.max(1, Math.ceil((testPerClass * nClasses) / bucketRows)),
    };
    const buckets = {
      train: await Promise.all(Array.from({ length: nBuckets.train }, (_, b) => BucketWriter.create(join(workDir, `train-${b}.bin`)))),
      test: await Promise.all(Array.from({ length: nBuckets.test }, (_, b) => BucketWriter.create(join(workDir, `test-${b}.bin`)))),
    };
    const select = classes.map((_, l) => new Sampler(available[l]!, perClass, new Rng(seed, PURPOSE.select * 1000 + l)));
    const toTest = classes.map((_, l) => new Sampler(perClass, testPerClass, new Rng(seed, PURPOSE.split * 1000 + l)));
    const bucketRng = new Rng(seed, PURPOSE.bucket);
    const min = new Array<number>(N_HLF).fill(Infinity);
    const max = new Array<number>(N_HLF).fill(-Infinity);
    const pSum = new Float64Array(N_PARTICLE_FEATURES);
    const pSumSq = new Float64Array(N_PARTICLE_FEATURES);
    let pCount = 0;
    // Strings are stored in buckets as indices into these tables.
    const uris: string[] = [];
    const uriIndex = new Map<string, number>();
    const names: string[] = [];
    const nameIndex = new Map<string, number>();
    const countsTrain = new Array<number>(nClasses).fill(0);
    const countsTest = new Array<number>(nClasses).fill(0);
    let seen = 0;
    // Heartbeat timers must run during long passes over in-memory rows.
    const turn = eventLoopTurns();
    for (const { source: part } of parts) {
      for await (const row of readFeatureRows(part)) {
        await turn();
        seen++;
        const l = row.label;
        if (!select[l]!.take()) continue;
        let ui = uriIndex.get(row.sourceUri);
        if (ui === undefined) { ui = uris.length; uris.push(row.sourceUri); uriIndex.set(row.sourceUri, ui); }
        let ni = nameIndex.get(row.className);
        if (ni === undefined) { ni = names.length; names.push(row.className); nameIndex.set(row.className, ni); }
        if (toTest[l]!.take()) {
          countsTest[l]!++;
          await buckets.test[bucketRng.int(nBuckets.test)]!.append(row, ni, ui);
        } else {
          countsTrain[l]!++;
          for (let k = 0; k < N_HLF; k++) {
            const v = row.hlf[k]!;
            if (v < min[k]!) min[k] = v;
            if (v > max[k]!) max[k] = v;
          }
          const p = row.particles;
          for (let j = 0; j < p.length; j += N_PARTICLE_FEATURES) {
            for (let f = 0; f < N_PARTICLE_FEATURES; f++) {
              const v = p[j + f]!;
              pSum[f] += v;
              pSumSq[f] += v * v;
            }
          }
          pCount += p.length / N_PARTICLE_FEATURES;
          await buckets.train[bucketRng.int(nBuckets.train)]!.append(row, ni, ui);
        }
      }
      await o.onProgress?.({ pass: 1, rows: seen });
    }
    for (const b of [...buckets.train, ...buckets.test]) await b.close();

    // Pass 2: shuffle each bucket, append to the output.
    const trainPath = join(o.outDir, 'train.parquet');
    const testPath = join(o.outDir, 'test.parquet');
    const shuffleRng = new Rng(seed, PURPOSE.shuffle);
    let written = 0;
    for (const [split, path] of [['train', trainPath], ['test', testPath]] as const) {
      // No footer metadata of our own: parquet-wasm writes footer keys in a hash map's
      // order, which varies between processes, so two keys would make identical datasets
      // differ in bytes. The split is the file's name and the config hash is in metadata.json.
      const w = await ParquetFeatureWriter.open(path, { rowGroupSize });
      for (let b = 0; b < nBuckets[split]; b++) {
        const rows = await readBucket(join(workDir, `${split}-${b}.bin`), names, uris);
        shuffleRng.shuffle(rows);
        for (const r of rows) {
          await turn();
          await w.write(r);
        }
        written += rows.length;
        await rm(join(workDir, `${split}-${b}.bin`));
        await o.onProgress?.({ pass: 2, rows: written });
      }
      await w.close();
    }

    const scaler: HlfScaler = { features: [...HLF_NAMES], min, max };
    const scalerPath = join(o.outDir, 'scaler.json');
    await writeFile(scalerPath, JSON.stringify(scaler, null, 2));
    const mean = Array.from(pSum, (v) => (pCount > 0 ? v / pCount : 0));
    const std = Array.from(pSumSq, (v, f) => {
      const variance = pCount > 0 ? v / pCount - mean[f]! * mean[f]! : 0;
      return variance > 1e-12 * Math.max(1, mean[f]! * mean[f]!) ? Math.sqrt(variance) : 1;
    });
    const particleScaler: ParticleScaler = { features: [...PARTICLE_FEATURE_NAMES], mean, std };
    const particleScalerPath = join(o.outDir, 'particle-scaler.json');
    await writeFile(particleScalerPath, JSON.stringify(particleScaler, null, 2));
    const metadata: DatasetMetadata = {
      format: 'hepflow-dataset/1',
      kind,
      configHash,
      config,
      available: named(classes, available),
      perClass,
      counts: { train: named(classes, countsTrain), test: named(classes, countsTest) },
      parts: partInfo,
      files: { train: 'train.parquet', test: 'test.parquet', scaler: 'scaler.json', particleScaler: 'particle-scaler.json' },
    };
    const metadataPath = join(o.outDir, 'metadata.json');
    await writeFile(metadataPath, JSON.stringify(metadata, null, 2));
    return { trainPath, testPath, scalerPath, particleScalerPath, metadataPath, scaler, particleScaler, metadata };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Standardises the real particles of one event, row-major n × 19, into `out`. Storage
 * never pads, so every row here is a real particle; pad after scaling.
 */
export function scaleParticles(scaler: ParticleScaler, particles: Float32Array, out: Float32Array = new Float32Array(particles.length)): Float32Array {
  for (let j = 0; j < particles.length; j += N_PARTICLE_FEATURES) {
    for (let f = 0; f < N_PARTICLE_FEATURES; f++) out[j + f] = (particles[j + f]! - scaler.mean[f]!) / scaler.std[f]!;
  }
  return out;
}

function named(classes: readonly string[], counts: readonly number[]): ClassCounts {
  return Object.fromEntries(classes.map((c, l) => [c, counts[l]!]));
}

/** Applies a fitted scaler: (x − min) / (max − min), 0 for constant features. */
export function scaleHlf(scaler: HlfScaler, hlf: Float32Array, out: Float32Array = new Float32Array(hlf.length)): Float32Array {
  for (let k = 0; k < hlf.length; k++) {
    const range = scaler.max[k]! - scaler.min[k]!;
    out[k] = range > 0 ? (hlf[k]! - scaler.min[k]!) / range : 0;
  }
  return out;
}
