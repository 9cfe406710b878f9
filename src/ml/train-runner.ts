/**
 * Parent-side API of the training worker: trainInWorker() runs runTraining in a worker
 * thread and keeps the caller's event loop free. Progress arrives as callbacks, the
 * caller's CheckpointStore/ArtifactSink serve the worker's requests, and an AbortSignal
 * stops training between batches (through a shared flag the worker polls, which works
 * even while the worker's own event loop is busy).
 */
import { Worker } from 'node:worker_threads';
import type { HlfScaler, ParticleScaler } from '../dataset/scaler.js';
import { AbortError, isInputVerdict, NON_RETRYABLE_ERROR_TYPES } from '../errors.js';
import { isTransientStorageError } from '../storage/types.js';
import { runtimeSettings, type RuntimeSettings } from '../runtime-settings.js';
import { addStorageIo, type StorageIo } from '../storage/io-meter.js';
import type { TrainResult } from './train.js';
import type { TrainConfig, TrainProgress } from './training/config.js';
import type { Checkpoint, CheckpointStore } from './training/checkpoint.js';
import type { ArtifactSink } from './training/model-dir.js';

/**
 * Where the worker gets its rows: an ES module (file URL, absolute path or package name)
 * whose export `exportName` (default `createRowSource`) maps the JSON `options` to a
 * RowSource. Functions cannot cross a thread boundary; a module name can.
 */
export interface SourceSpec {
  readonly module: string;
  readonly exportName?: string;
  readonly options: unknown;
}

export interface WorkerInit {
  readonly config: TrainConfig;
  readonly source: SourceSpec;
  readonly scaler?: HlfScaler | undefined;
  readonly particleScaler?: ParticleScaler | undefined;
  readonly hasCheckpoints: boolean;
  readonly datasetIdentity?: string | undefined;
  readonly stopFlag: SharedArrayBuffer;
  readonly progressIntervalMs?: number | undefined;
  /** The parent's runtime settings: the thread chooses its kernels from these, not from its environment. */
  readonly settings: RuntimeSettings;
}

export type WorkerMessage =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'log'; message: string }
  | { type: 'call'; id: number; method: 'checkpoint.save' | 'checkpoint.loadLatest' | 'artifact.put'; args: unknown[] }
  // The thread's own storage reads (the row source), for the caller's storage meter.
  | { type: 'done'; result: TrainResult; storage: StorageIo }
  | { type: 'error'; error: SerializedError; storage: StorageIo };

/**
 * An error as it crosses the thread boundary: structured clone keeps neither an Error's
 * class nor, reliably, its name, and the name is what decides whether Temporal retries.
 * Whether no retry can fix it is decided where the error's class is still known.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string | undefined;
  readonly cause?: SerializedError | undefined;
  readonly nonRetryable: boolean;
}

export function serializeError(err: unknown, depth = 0): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  // A storage outage anywhere in the chain stays retryable, whatever wraps it (src/errors.ts).
  const nonRetryable =
    e instanceof TrainingWorkerError
      ? e.nonRetryable
      : !isTransientStorageError(e) &&
        ((NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(e.name) || isInputVerdict(e));
  return {
    name: e.name,
    message: e.message,
    nonRetryable,
    stack: e.stack,
    cause: e.cause !== undefined && depth < 4 ? serializeError(e.cause, depth + 1) : undefined,
  };
}

/**
 * An error raised in a training thread (single-run or distributed), rebuilt on this side
 * with its name, message, stack and cause chain. `nonRetryable` says whether it is a
 * verdict no retry can change (src/errors.ts), which the activity turns into a
 * non-retryable failure of the error's type.
 */
export class TrainingWorkerError extends Error {
  readonly nonRetryable: boolean;
  constructor(e: SerializedError) {
    super(e.message, e.cause ? { cause: new TrainingWorkerError(e.cause) } : undefined);
    this.name = e.name;
    this.nonRetryable = e.nonRetryable;
    if (e.stack !== undefined) this.stack = e.stack;
  }
}

export type ParentMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

export interface TrainInWorkerOptions {
  readonly source: SourceSpec;
  readonly scaler?: HlfScaler | undefined;
  /** See TrainDeps.particleScaler. */
  readonly particleScaler?: ParticleScaler | undefined;
  readonly checkpoints?: CheckpointStore | undefined;
  /** See TrainDeps.datasetIdentity. */
  readonly datasetIdentity?: string | undefined;
  readonly artifacts: ArtifactSink;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((p: TrainProgress) => void) | undefined;
  readonly log?: ((message: string) => void) | undefined;
  readonly progressIntervalMs?: number | undefined;
}

/** Structured clone turns Uint8Arrays into Uint8Arrays but a checkpoint's map needs rebuilding. */
function asCheckpoint(v: unknown): Checkpoint {
  const c = v as Checkpoint;
  return { epoch: c.epoch, files: { ...c.files } };
}

export function trainInWorker(config: TrainConfig, o: TrainInWorkerOptions): Promise<TrainResult> {
  if (o.signal?.aborted) return Promise.reject(new AbortError('training cancelled before it started'));
  const stopFlag = new SharedArrayBuffer(4);
  const init: WorkerInit = {
    config,
    source: o.source,
    scaler: o.scaler,
    particleScaler: o.particleScaler,
    hasCheckpoints: o.checkpoints !== undefined,
    stopFlag,
    datasetIdentity: o.datasetIdentity,
    progressIntervalMs: o.progressIntervalMs,
    settings: runtimeSettings(),
  };
  const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: init });
  const onAbort = () => Atomics.store(new Int32Array(stopFlag), 0, 1);
  o.signal?.addEventListener('abort', onAbort, { once: true });

  return new Promise<TrainResult>((resolve, reject) => {
    let settled: { ok: true; result: TrainResult } | { ok: false; error: Error } | undefined;
    const serve = async (m: Extract<WorkerMessage, { type: 'call' }>) => {
      let reply: ParentMessage;
      try {
        let value: unknown;
        if (m.method === 'artifact.put') await o.artifacts.put(m.args[0] as string, m.args[1] as Uint8Array);
        else if (m.method === 'checkpoint.save') await o.checkpoints!.save(asCheckpoint(m.args[0]));
        else value = await o.checkpoints!.loadLatest();
        reply = { id: m.id, ok: true, value };
      } catch (err) {
        reply = { id: m.id, ok: false, error: serializeError(err) };
      }
      worker.postMessage(reply);
    };
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'progress':
          o.onProgress?.(m.progress);
          break;
        case 'log':
          (o.log ?? ((s: string) => console.error(s)))(m.message);
          break;
        case 'call':
          void serve(m);
          break;
        case 'done':
          addStorageIo(m.storage);
          settled = { ok: true, result: m.result };
          void worker.terminate();
          break;
        case 'error': {
          addStorageIo(m.storage);
          const e = m.error.name === 'AbortError' ? new AbortError(m.error.message) : new TrainingWorkerError(m.error);
          settled = { ok: false, error: e };
          void worker.terminate();
          break;
        }
      }
    });
    worker.on('error', (err) => {
      settled ??= { ok: false, error: err };
    });
    worker.on('exit', (code) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (settled === undefined) reject(new Error(`training worker exited with code ${code} before finishing`));
      else if (settled.ok) resolve(settled.result);
      else reject(settled.error);
    });
  });
}
