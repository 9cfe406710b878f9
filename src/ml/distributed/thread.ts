/**
 * Runs one distributed-training job (plan.ts, shard-job.ts, epoch-job.ts) in a pooled
 * worker thread, so the caller's event loop stays free for Temporal heartbeats and
 * several shards in one process use several cores. Unlike the single-run trainer
 * (train-runner.ts) the thread needs no callbacks into the parent: it reads and writes
 * object storage itself. It starts with the parent's runtime settings. An AbortSignal
 * stops a shard between batches through a shared flag (polled even while the thread is busy).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runtimeSettings, type RuntimeSettings } from '../../runtime-settings.js';
import { AbortError } from '../../errors.js';
import { TrainingWorkerError, type SerializedError } from '../train-runner.js';
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
import type { DistributedPlanInput, PlanResult } from './plan.js';

export type Job =
  | { kind: 'plan'; input: DistributedPlanInput }
  | { kind: 'shard'; input: ShardInput }
  | { kind: 'aggregate'; input: AggregateInput }
  | { kind: 'validate'; input: ValidatePartInput }
  | { kind: 'finish'; input: FinishEpochInput };

export type JobOutput<J extends Job> = J extends { kind: 'plan' }
  ? PlanResult
  : J extends { kind: 'shard' }
    ? ShardResult
    : J extends { kind: 'aggregate' }
      ? AggregateResult
      : J extends { kind: 'validate' }
        ? ValidatePartResult
        : RoundDone;

/** What a pooled thread starts with: the parent's runtime settings, which it chooses its kernels from. */
export interface JobThreadData {
  readonly settings: RuntimeSettings;
}

/** One job for a pooled thread, with the flag that stops it. */
export interface JobRequest {
  readonly job: Job;
  readonly stopFlag: SharedArrayBuffer;
}

export type JobThreadMessage =
  | { type: 'progress'; progress: { batch: number; loss: number; samples: number } }
  | { type: 'log'; message: string }
  | { type: 'done'; output: unknown }
  | { type: 'error'; error: SerializedError };

export interface JobOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { batch: number; loss: number; samples: number }) => void;
  readonly log?: (message: string) => void;
}

/**
 * The job's error on this side, as single-run training rebuilds it (train-runner.ts):
 * its name, message, stack and cause chain, and whether no retry can fix it.
 */
const rebuild = (e: SerializedError): Error =>
  e.name === 'AbortError' ? new AbortError(e.message) : new TrainingWorkerError(e);

/**
 * Idle threads, kept for the next job: starting a thread and initialising tfjs and its
 * WASM backend costs about a second, which a round of local steps should not pay. An
 * idle thread is unref'd so it never keeps the process alive.
 */
const idle: Worker[] = [];
const MAX_IDLE = Math.max(2, availableParallelism());

export function runJobInThread<J extends Job>(job: J, o: JobOptions = {}): Promise<JobOutput<J>> {
  if (o.signal?.aborted) return Promise.reject(new AbortError(`${job.kind} cancelled before it started`));
  const stopFlag = new SharedArrayBuffer(4);
  const worker =
    idle.pop() ??
    new Worker(new URL('./job-thread.js', import.meta.url), {
      workerData: { settings: runtimeSettings() } satisfies JobThreadData,
    });
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
    const onMessage = (m: JobThreadMessage) => {
      switch (m.type) {
        case 'progress':
          o.onProgress?.(m.progress);
          break;
        case 'log':
          (o.log ?? ((s: string) => console.error(s)))(m.message);
          break;
        case 'done':
          finish(true);
          resolve(m.output as JobOutput<J>);
          break;
        // A failed job may have left tfjs state behind: the thread is not reused.
        case 'error':
          finish(false);
          reject(rebuild(m.error));
          break;
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
    worker.postMessage({ job, stopFlag } satisfies JobRequest);
  });
}
