/**
 * The one worker-thread protocol of training, for both trainers: a training run
 * (trainInWorker, the single-process trainer) and the jobs of distributed rounds (plan,
 * shard, aggregate, validate, finish) run in pooled threads (thread-entry.ts), so the
 * caller's event loop stays free for Temporal heartbeats and several jobs in one process
 * use several cores. A thread starts with the parent's runtime settings and never reads
 * its environment. An AbortSignal stops a job between batches through a shared flag,
 * polled even while the thread's own event loop is busy. A job holds its thread alone
 * until it ends, which single-run training's seeding of Math.random needs (step.ts).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AbortError, isInputVerdict, NON_RETRYABLE_ERROR_TYPES } from '../../errors.js';
import { isTransientStorageError } from '../../storage/types.js';
import { runtimeSettings, type RuntimeSettings } from '../../runtime-settings.js';
import { addStorageIo, type StorageIo } from '../../storage/io-meter.js';
import type {
  AggregateInput,
  AggregateResult,
  FinishEpochInput,
  RoundDone,
  ShardInput,
  ShardResult,
  ValidatePartInput,
  ValidatePartResult,
} from '../../contract/distributed-rounds.js';
import type { DistributedPlanInput, PlanResult } from '../distributed/plan.js';
import type { TrainDeps, TrainResult } from '../train.js';
import type { TrainConfig, TrainProgress } from './config.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * Where a training run gets its rows: an ES module (file URL, absolute path or package
 * name) whose export `exportName` (default `createRowSource`) maps the JSON `options`
 * to a RowSource. Functions cannot cross a thread boundary; a module name can.
 */
export interface SourceSpec {
  readonly module: string;
  readonly exportName?: string;
  readonly options: unknown;
}

/** What a training run takes from the caller's side: everything but its row source and stop hook. */
type CallerDeps = Omit<TrainDeps, 'source' | 'shouldStop'>;

/** A training run as the thread receives it; its checkpoint store and artifact sink stay here. */
export type TrainJobInput = Pick<CallerDeps, 'scaler' | 'particleScaler' | 'datasetIdentity' | 'progressIntervalMs'> & {
  readonly config: TrainConfig;
  readonly source: SourceSpec;
  readonly hasCheckpoints: boolean;
};

export type Job =
  | { kind: 'train'; input: TrainJobInput }
  | { kind: 'plan'; input: DistributedPlanInput }
  | { kind: 'shard'; input: ShardInput }
  | { kind: 'aggregate'; input: AggregateInput }
  | { kind: 'validate'; input: ValidatePartInput }
  | { kind: 'finish'; input: FinishEpochInput };

interface Outputs {
  train: TrainResult;
  plan: PlanResult;
  shard: ShardResult;
  aggregate: AggregateResult;
  validate: ValidatePartResult;
  finish: RoundDone;
}
export type JobOutput<J extends Job> = Outputs[J['kind']];

/** A distributed job's progress: its local steps. */
export interface StepProgress {
  readonly batch: number;
  readonly loss: number;
  readonly samples: number;
}
export type JobProgress<J extends Job> = J extends { kind: 'train' } ? TrainProgress : StepProgress;

/** What a thread starts with: the parent's runtime settings, which it chooses its kernels from. */
export interface ThreadData {
  readonly settings: RuntimeSettings;
}

/** A training run's calls back to the caller's checkpoint store and artifact sink. */
export type StoreMethod = 'checkpoint.save' | 'checkpoint.loadLatest' | 'artifact.put';

export type ToThread =
  | { type: 'job'; job: Job; stopFlag: SharedArrayBuffer }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: SerializedError };

export type FromThread =
  | { type: 'progress'; progress: TrainProgress | StepProgress }
  | { type: 'log'; message: string }
  | { type: 'call'; id: number; method: StoreMethod; args: unknown[] }
  // The job's own storage requests, for the caller's storage meter.
  | { type: 'done'; output: unknown; storage: StorageIo }
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
 * An error raised in a training thread, rebuilt on this side with its name, message,
 * stack and cause chain. `nonRetryable` says whether it is a verdict no retry can change
 * (src/errors.ts), which the activity turns into a non-retryable failure of the error's type.
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

/** A thread's error on this side: a stopped job stays an AbortError, which the activities tell apart. */
export const rebuildError = (e: SerializedError): Error =>
  e.name === 'AbortError' ? new AbortError(e.message) : new TrainingWorkerError(e);

export interface JobOptions<P> {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((p: P) => void) | undefined;
  readonly log?: ((message: string) => void) | undefined;
  /** Answers a training run's store calls (trainInWorker). */
  readonly serve?: ((method: StoreMethod, args: unknown[]) => Promise<unknown>) | undefined;
}

/**
 * Idle threads, kept for the next job: starting a thread and initialising tfjs and its
 * WASM backend costs about a second, which a round of local steps should not pay. An
 * idle thread is unref'd so it never keeps the process alive.
 */
const idle: Worker[] = [];
const MAX_IDLE = Math.max(2, availableParallelism());

const spawn = () =>
  new Worker(new URL('./thread-entry.js', import.meta.url), {
    workerData: { settings: runtimeSettings() } satisfies ThreadData,
  });

export function runJobInThread<J extends Job>(job: J, o: JobOptions<JobProgress<J>> = {}): Promise<JobOutput<J>> {
  if (o.signal?.aborted) return Promise.reject(new AbortError(`${job.kind} cancelled before it started`));
  const stopFlag = new SharedArrayBuffer(4);
  const worker = idle.pop() ?? spawn();
  worker.ref();
  const onAbort = () => Atomics.store(new Int32Array(stopFlag), 0, 1);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise<JobOutput<J>>((resolve, reject) => {
    const finish = (reuse: boolean) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      o.signal?.removeEventListener('abort', onAbort);
      if (reuse && idle.length < MAX_IDLE) {
        worker.unref();
        idle.push(worker);
      } else {
        void worker.terminate();
      }
    };
    const serve = async (m: Extract<FromThread, { type: 'call' }>) => {
      let reply: ToThread;
      try {
        if (o.serve === undefined) throw new Error(`${job.kind} job made a store call (${m.method}) nobody serves`);
        reply = { type: 'reply', id: m.id, ok: true, value: await o.serve(m.method, m.args) };
      } catch (err) {
        reply = { type: 'reply', id: m.id, ok: false, error: serializeError(err) };
      }
      worker.postMessage(reply);
    };
    const onMessage = (m: FromThread) => {
      if (m.type === 'progress') o.onProgress?.(m.progress as JobProgress<J>);
      else if (m.type === 'log') (o.log ?? ((s: string) => console.error(s)))(m.message);
      else if (m.type === 'call') void serve(m);
      else {
        addStorageIo(m.storage);
        // A failed job may have left tfjs state behind: its thread is not reused.
        finish(m.type === 'done');
        if (m.type === 'done') resolve(m.output as JobOutput<J>);
        else reject(rebuildError(m.error));
      }
    };
    const onError = (err: Error) => {
      finish(false);
      reject(err);
    };
    const onExit = (code: number) => {
      finish(false);
      reject(new Error(`${job.kind} thread exited with code ${code} before finishing`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ type: 'job', job, stopFlag } satisfies ToThread);
  });
}

/** TrainDeps across the thread: the row source by module name, cancellation by an AbortSignal. */
export type TrainInWorkerOptions = CallerDeps & {
  readonly source: SourceSpec;
  readonly signal?: AbortSignal | undefined;
};

/** Runs runTraining in a pooled thread; the caller's checkpoint store and artifact sink serve its calls. */
export function trainInWorker(config: TrainConfig, o: TrainInWorkerOptions): Promise<TrainResult> {
  const input: TrainJobInput = {
    config,
    source: o.source,
    scaler: o.scaler,
    particleScaler: o.particleScaler,
    hasCheckpoints: o.checkpoints !== undefined,
    datasetIdentity: o.datasetIdentity,
    progressIntervalMs: o.progressIntervalMs,
  };
  const serve = async (method: StoreMethod, args: unknown[]): Promise<unknown> => {
    if (method === 'artifact.put') return o.artifacts.put(args[0] as string, args[1] as Uint8Array);
    // Structured clone keeps the Uint8Arrays but a checkpoint's map needs rebuilding.
    const c = args[0] as Checkpoint;
    if (method === 'checkpoint.save') return o.checkpoints!.save({ epoch: c.epoch, files: { ...c.files } });
    return o.checkpoints!.loadLatest();
  };
  return runJobInThread({ kind: 'train', input }, { signal: o.signal, onProgress: o.onProgress, log: o.log, serve });
}
