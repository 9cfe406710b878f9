/**
 * Training input: streams rows from a re-iterable source, splits off a deterministic
 * validation set, shuffles within a bounded buffer, and turns rows into padded,
 * scaled batches for the models' inputs.
 *
 * The source is a small interface (an async iterable of row batches) so that the Parquet
 * reader, an in-memory test set, or anything else can feed training.
 */
import { DatasetTooSmallError, InvalidInputError } from '../errors.js';
import * as tf from '@tensorflow/tfjs';
import { HLF_NAMES, N_HLF, N_PARTICLE_FEATURES, PARTICLE_FEATURE_NAMES, type FeatureRow } from '../physics/schema.js';
import { HlfScalerFit, scaleHlfRows, scaleParticles, type HlfScaler, type ParticleScaler } from '../dataset/scaler.js';
import { modelInputs, type ModelKind } from './models.js';

/** The fields of a FeatureRow that training reads; the provenance makes the split stable. */
export type TrainingRow = Pick<FeatureRow, 'label' | 'hlf' | 'particles'> &
  Partial<Pick<FeatureRow, 'sourceUri' | 'sourceEntry'>>;

/** A dataset that can be read from the start any number of times (once per epoch). */
export interface RowSource {
  /** Identifies the dataset in run metadata. */
  readonly id: string;
  batches(): AsyncIterable<readonly TrainingRow[]>;
}

export interface SplitConfig {
  /** Fraction of the training rows held out for validation, in [0, 1). */
  readonly validationFraction: number;
  readonly seed: number;
}

/** Pads every batch to maxLen ('fixed'), or to its own longest sequence ('longest'). */
export type PaddingMode = 'fixed' | 'longest';

/** How rows become model inputs: what training, evaluation, scoring and serving share. */
export interface InputOptions {
  readonly kind: ModelKind;
  readonly maxLen: number;
  readonly scaler: HlfScaler;
  /**
   * Standardises each real particle's 19 features, (x − mean) / std, before padding, so
   * the padding stays exactly 0 and Masking(0) still masks it. Absent: raw features
   * (only sensible for synthetic rows that are already of order 1).
   */
  readonly particleScaler?: ParticleScaler | undefined;
  readonly padding: PaddingMode;
}

export interface BatchOptions extends InputOptions {
  readonly nClasses: number;
}

/** A small fast PRNG (mulberry32): shuffles must be reproducible from (seed, epoch). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A string hashed with a seed to 32 bits (FNV-1a with a final avalanche). */
export function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche so nearby keys (entry 1, 2, 3...) spread over [0, 1).
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Whether a row belongs to the validation split. Keyed by the row's provenance
 * (source file + entry) when it has one, so the split survives re-ordering and
 * re-sharding of the files; by stream position otherwise.
 */
export function isValidationRow(row: TrainingRow, index: number, split: SplitConfig): boolean {
  if (split.validationFraction <= 0) return false;
  const key =
    row.sourceUri !== undefined && row.sourceEntry !== undefined ? `${row.sourceUri}#${row.sourceEntry}` : `#${index}`;
  return fnv1a(key, split.seed) / 4294967296 < split.validationFraction;
}

async function* splitRows(
  source: RowSource,
  split: SplitConfig,
  want: 'train' | 'validation',
): AsyncGenerator<TrainingRow> {
  let index = 0;
  for await (const batch of source.batches()) {
    for (const row of batch) {
      if (isValidationRow(row, index++, split) === (want === 'validation')) yield row;
    }
  }
}

/**
 * Bounded-buffer shuffle (as tf.data's): fill `bufferSize` rows, then emit a random
 * buffered row for every row read. The buffer holds `hold(row)` for each row: for rows
 * that are views into a larger batch, a copy that owns its data (ownedRow), or memory
 * is bounded by the batches the buffered rows pin, not by the buffer.
 */
export async function* shuffleRows<T>(
  rows: AsyncIterable<T>,
  bufferSize: number,
  random: () => number,
  hold: (row: T) => T = (row) => row,
): AsyncGenerator<T> {
  const buf: T[] = [];
  for await (const row of rows) {
    if (buf.length < bufferSize) {
      buf.push(hold(row));
      continue;
    }
    const j = Math.floor(random() * bufferSize);
    const out = buf[j]!;
    buf[j] = hold(row);
    yield out;
  }
  for (let i = buf.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [buf[i], buf[j]] = [buf[j]!, buf[i]!];
  }
  yield* buf;
}

export async function* chunk<T>(rows: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let cur: T[] = [];
  for await (const row of rows) {
    cur.push(row);
    if (cur.length === size) {
      yield cur;
      cur = [];
    }
  }
  if (cur.length > 0) yield cur;
}

/**
 * The row with its own copies of `hlf` and `particles`. Rows read from Parquet are views
 * into their row group's arrays, and a shuffle buffer keeps a row for a random, often
 * long time: one such row kept its whole row group (a thousand rows' particles) alive,
 * and a 10,000-row buffer kept ~70 row groups, so training's memory grew with the
 * dataset (1.4 GB for 55k rows) instead of staying at the buffer's size.
 */
export function ownedRow<T extends TrainingRow>(row: T): T {
  return { ...row, hlf: row.hlf.slice(), particles: row.particles.slice() };
}

const NO_PARTICLES = new Float32Array(0);

/**
 * The rows of one training epoch, shuffled reproducibly from (seed, epoch), in batches.
 * Without `particles` (a model that reads only the HLF) the buffered rows drop theirs,
 * nearly all of a row's bytes.
 */
export function trainingRowBatches(
  source: RowSource,
  o: { split: SplitConfig; batchSize: number; shuffleBuffer: number; seed: number; epoch: number; particles?: boolean },
): AsyncGenerator<TrainingRow[]> {
  const random = mulberry32(fnv1a(`epoch ${o.epoch}`, o.seed));
  const hold = o.particles === false ? (row: TrainingRow) => ownedRow({ ...row, particles: NO_PARTICLES }) : ownedRow;
  return chunk(shuffleRows(splitRows(source, o.split, 'train'), o.shuffleBuffer, random, hold), o.batchSize);
}

/** Every row of the source (no split: for the test set), in batches of `batchSize`. */
export function allRowBatches(source: RowSource, batchSize: number): AsyncGenerator<TrainingRow[]> {
  async function* rows(): AsyncGenerator<TrainingRow> {
    for await (const batch of source.batches()) yield* batch;
  }
  return chunk(rows(), batchSize);
}

export function validationRowBatches(
  source: RowSource,
  split: SplitConfig,
  batchSize: number,
): AsyncGenerator<TrainingRow[]> {
  return chunk(splitRows(source, split, 'validation'), batchSize);
}

export function validateScaler(scaler: HlfScaler, where: string): void {
  const ok =
    scaler.features.length === N_HLF &&
    scaler.features.every((f, i) => f === HLF_NAMES[i]) &&
    scaler.min.length === N_HLF &&
    scaler.max.length === N_HLF;
  if (!ok)
    throw new InvalidInputError(
      `${where}: HLF scaler must list the ${N_HLF} features ${HLF_NAMES.join(',')} in order with ${N_HLF} min and max values`,
    );
}

export function validateParticleScaler(scaler: ParticleScaler, where: string): void {
  const n = N_PARTICLE_FEATURES;
  const named = scaler.features?.length === n && scaler.features.every((f, i) => f === PARTICLE_FEATURE_NAMES[i]);
  if (!named)
    throw new InvalidInputError(
      `${where}: particle scaler must list the ${n} features ${PARTICLE_FEATURE_NAMES.join(',')} in order`,
    );
  if (scaler.mean?.length !== n || !scaler.mean.every(Number.isFinite))
    throw new InvalidInputError(`${where}: particle scaler needs ${n} finite mean values`);
  if (scaler.std?.length !== n || !scaler.std.every((v) => Number.isFinite(v) && v > 0)) {
    throw new InvalidInputError(`${where}: particle scaler needs ${n} finite, positive std values`);
  }
}

/** Min–max scaler fit on the training split (never on validation or test rows). */
export async function fitHlfScaler(source: RowSource, split: SplitConfig): Promise<HlfScaler> {
  const fit = new HlfScalerFit();
  let n = 0;
  for await (const row of splitRows(source, split, 'train')) {
    checkRow(row, source.id);
    fit.add(row.hlf);
    n++;
  }
  if (n === 0) throw new DatasetTooSmallError(`${source.id}: no training rows to fit the HLF scaler on`);
  return fit.scaler();
}

/** The fields a model's inputs are made of (labels and provenance are optional). */
export type InputRow = Pick<FeatureRow, 'hlf' | 'particles'> & Partial<Pick<FeatureRow, 'sourceUri' | 'sourceEntry'>>;

function checkRow(row: InputRow, where: string): void {
  const at = row.sourceUri !== undefined ? ` (${row.sourceUri} entry ${row.sourceEntry})` : '';
  if (row.hlf.length !== N_HLF)
    throw new InvalidInputError(`${where}: row${at} has ${row.hlf.length} HLF values, expected ${N_HLF}`);
  if (row.particles.length % N_PARTICLE_FEATURES !== 0) {
    throw new InvalidInputError(
      `${where}: row${at} has ${row.particles.length} particle values, not a multiple of ${N_PARTICLE_FEATURES}`,
    );
  }
}

export interface Batch {
  /** Tensors in the model's input order (modelInputs(kind)). */
  readonly inputs: tf.Tensor[];
  /** One-hot labels, batch × nClasses. */
  readonly labels: tf.Tensor2D;
  readonly labelIndex: Int32Array;
  readonly size: number;
  /** Time steps of the particle input (0 for the HLF model). */
  readonly steps: number;
}

/** One model input as plain data: row-major values and the tensor shape they fill. */
export interface InputArray {
  readonly values: Float32Array;
  readonly shape: number[];
}

/**
 * The model's inputs for `rows` as plain arrays, in modelInputs(kind) order. Particle
 * sequences are zero-padded at the FRONT so the lepton (last particle) is the GRU's last
 * step; sequences longer than maxLen keep their last maxLen particles, the ones closest
 * to the lepton (rows are sorted by decreasing ΔR).
 */
export function inputArrays(
  rows: readonly InputRow[],
  o: InputOptions,
  where = 'batch',
): { inputs: InputArray[]; steps: number } {
  const n = rows.length;
  checkRows(rows, where);
  const inputs: InputArray[] = [];
  let steps = 0;
  for (const name of modelInputs(o.kind)) {
    if (name === 'hlf') {
      inputs.push({ values: scaleHlfRows(o.scaler, rows), shape: [n, N_HLF] });
    } else {
      const lengths = rows.map((r) => Math.min(r.particles.length / N_PARTICLE_FEATURES, o.maxLen));
      steps = o.padding === 'fixed' ? o.maxLen : Math.max(1, ...lengths);
      const x = new Float32Array(n * steps * N_PARTICLE_FEATURES);
      for (let i = 0; i < n; i++) {
        keptParticlesInto(
          rows[i]!.particles,
          lengths[i]!,
          o.particleScaler,
          x,
          (i * steps + (steps - lengths[i]!)) * N_PARTICLE_FEATURES,
        );
      }
      inputs.push({ values: x, shape: [n, steps, N_PARTICLE_FEATURES] });
    }
  }
  return { inputs, steps };
}

/** A batch's sequences without padding: the kept particles one after another, and their lengths. */
export interface UnpaddedSequences {
  /** [sum(lengths), 19], as stored: not standardised (see unpaddedInputs). */
  readonly values: Float32Array;
  readonly lengths: Int32Array;
}

/**
 * The model's inputs for `rows` with the particle sequences left unpadded: what
 * inputArrays pads in front with zeros, which Masking(0) skips, so a kernel that takes
 * sequences as they are computes the same thing without building (and reading) the
 * padding. The particles are not standardised here: the consumer applies
 * o.particleScaler as it reads them (the GRU kernel does, in one pass with its own
 * reading). hlf: [n x 14], scaled, when the model reads the HLF, else null. `buffer`, when
 * large enough, holds the particles (a caller that predicts batch after batch reuses it:
 * fresh pages for a new array cost as much as the copy).
 */
export function unpaddedInputs(
  rows: readonly InputRow[],
  o: InputOptions,
  where = 'batch',
  buffer?: Float32Array,
): { hlf: Float32Array | null; particles: UnpaddedSequences | null } {
  checkRows(rows, where);
  const names = modelInputs(o.kind);
  let particles: UnpaddedSequences | null = null;
  if (names.includes('particles')) {
    const lengths = new Int32Array(rows.length);
    let total = 0;
    for (let i = 0; i < rows.length; i++) {
      lengths[i] = Math.min(rows[i]!.particles.length / N_PARTICLE_FEATURES, o.maxLen);
      total += lengths[i]!;
    }
    const n = total * N_PARTICLE_FEATURES;
    const values = buffer !== undefined && buffer.length >= n ? buffer.subarray(0, n) : new Float32Array(n);
    for (let i = 0, at = 0; i < rows.length; at += lengths[i]! * N_PARTICLE_FEATURES, i++) {
      keptParticlesInto(rows[i]!.particles, lengths[i]!, undefined, values, at);
    }
    particles = { values, lengths };
  }
  return { hlf: names.includes('hlf') ? scaleHlfRows(o.scaler, rows) : null, particles };
}

function checkRows(rows: readonly InputRow[], where: string): void {
  if (rows.length === 0) throw new InvalidInputError(`${where}: empty batch`);
  for (const row of rows) checkRow(row, where);
}

/**
 * The last `len` particles of a row (the ones closest to the lepton: rows are sorted by
 * decreasing ΔR), scaled when there is a scaler, into out[at...]. Only real particles are
 * scaled: padding around them stays exactly 0.
 */
function keptParticlesInto(
  p: Float32Array,
  len: number,
  ps: ParticleScaler | undefined,
  out: Float32Array,
  at: number,
): void {
  const kept = p.subarray(p.length - len * N_PARTICLE_FEATURES);
  if (ps === undefined) out.set(kept, at);
  else scaleParticles(ps, kept, out.subarray(at, at + kept.length));
}

/** The model's input tensors for `rows` (inputArrays as tensors). */
export function makeInputs(
  rows: readonly InputRow[],
  o: InputOptions,
  where = 'batch',
): { inputs: tf.Tensor[]; steps: number } {
  const { inputs, steps } = inputArrays(rows, o, where);
  return { inputs: inputs.map((a) => tf.tensor(a.values, a.shape)), steps };
}

/** Class indices of `rows` and their one-hot encoding (batch × nClasses), each label checked. */
export function labelArrays(
  rows: readonly TrainingRow[],
  nClasses: number,
  where = 'batch',
): { labelIndex: Int32Array; oneHot: Float32Array } {
  const n = rows.length;
  const labelIndex = new Int32Array(n);
  const oneHot = new Float32Array(n * nClasses);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    if (!Number.isInteger(row.label) || row.label < 0 || row.label >= nClasses) {
      throw new InvalidInputError(`${where}: label ${row.label} is not a class index below ${nClasses}`);
    }
    labelIndex[i] = row.label;
    oneHot[i * nClasses + row.label] = 1;
  }
  return { labelIndex, oneHot };
}

/** Inputs (makeInputs) and one-hot labels for one training or evaluation batch. */
export function makeBatch(rows: readonly TrainingRow[], o: BatchOptions, where = 'batch'): Batch {
  const n = rows.length;
  if (n === 0) throw new InvalidInputError(`${where}: empty batch`);
  const { labelIndex, oneHot } = labelArrays(rows, o.nClasses, where);
  const { inputs, steps } = makeInputs(rows, o, where);
  return { inputs, labels: tf.tensor2d(oneHot, [n, o.nClasses]), labelIndex, size: n, steps };
}

export function disposeBatch(b: Batch): void {
  tf.dispose([...b.inputs, b.labels]);
}

/** A RowSource over rows held in memory (tests, benchmarks, small subsets). */
export function inMemorySource(id: string, rows: readonly TrainingRow[], readBatch = 256): RowSource {
  return {
    id,
    async *batches() {
      for (let i = 0; i < rows.length; i += readBatch) yield rows.slice(i, i + readBatch);
    },
  };
}
