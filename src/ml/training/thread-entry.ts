/**
 * Entry point of the training threads runJobInThread (threads.ts) starts: one job at a
 * time, dispatched on its kind. Training is CPU-bound and synchronous between awaits,
 * so it runs here, off the caller's event loop. A training run's checkpoint store and
 * artifact sink stay with the caller and are reached through request/reply messages;
 * its row source is built here from a module the caller names, because reading and
 * decoding Parquet is CPU work too. Distributed jobs read and write object storage themselves.
 */
import '../../process-warnings.js';
import { parentPort, workerData } from 'node:worker_threads';
import { threadStorageIo, type StorageIo } from '../../storage/io-meter.js';
import { installRuntimeSettings } from '../../runtime-settings.js';
import { Storage } from '../../storage/index.js';
import { runTraining } from '../train.js';
import type { RowSource } from '../data.js';
import { planRun } from '../distributed/plan.js';
import { aggregateRound, trainShard } from '../distributed/shard-job.js';
import { finishEpoch, validatePart } from '../distributed/epoch-job.js';
import type { Checkpoint, CheckpointStore } from './checkpoint.js';
import type { ArtifactSink } from './model-dir.js';
import type { TrainProgress } from './config.js';
import {
  rebuildError,
  serializeError,
  type FromThread,
  type Job,
  type SourceSpec,
  type StepProgress,
  type StoreMethod,
  type ThreadData,
  type ToThread,
  type TrainJobInput,
} from './threads.js';

const port = parentPort;
if (port === null) throw new Error('thread-entry.ts must run in a worker thread (use runJobInThread)');
installRuntimeSettings((workerData as ThreadData).settings);
const post = (m: FromThread) => port.postMessage(m);
// One store per thread, reused by every job it runs (its S3 client and connection pool).
const store = new Storage();

let nextId = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function call(method: StoreMethod, args: unknown[]): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ type: 'call', id, method, args });
  });
}

const checkpointProxy: CheckpointStore = {
  save: async (cp: Checkpoint) => {
    await call('checkpoint.save', [cp]);
  },
  loadLatest: async () => (await call('checkpoint.loadLatest', [])) as Checkpoint | undefined,
};
const artifactProxy: ArtifactSink = {
  put: async (name, data) => {
    await call('artifact.put', [name, data]);
  },
};

async function loadSource({ module, exportName = 'createRowSource', options }: SourceSpec): Promise<RowSource> {
  const mod = (await import(module)) as Record<string, unknown>;
  const factory = mod[exportName];
  if (typeof factory !== 'function')
    throw new Error(`row source module ${module} has no function export '${exportName}'`);
  const source = await (factory as (o: unknown, deps: { store: Storage }) => RowSource | Promise<RowSource>)(options, {
    store,
  });
  if (typeof source?.batches !== 'function' || typeof source.id !== 'string') {
    throw new Error(`${module}#${exportName} did not return a RowSource ({ id, batches() })`);
  }
  return source;
}

interface Hooks {
  readonly store: Storage;
  readonly shouldStop: () => boolean;
  readonly onProgress: (progress: TrainProgress | StepProgress) => void;
  readonly log: (message: string) => void;
}

async function train(input: TrainJobInput, hooks: Hooks): Promise<unknown> {
  return runTraining(input.config, {
    source: await loadSource(input.source),
    scaler: input.scaler,
    particleScaler: input.particleScaler,
    checkpoints: input.hasCheckpoints ? checkpointProxy : undefined,
    datasetIdentity: input.datasetIdentity,
    artifacts: artifactProxy,
    onProgress: hooks.onProgress,
    shouldStop: hooks.shouldStop,
    log: hooks.log,
    progressIntervalMs: input.progressIntervalMs,
  });
}

function dispatch(job: Job, hooks: Hooks): Promise<unknown> {
  switch (job.kind) {
    case 'train':
      return train(job.input, hooks);
    case 'plan':
      return planRun(job.input, hooks);
    case 'shard':
      return trainShard(job.input, hooks);
    case 'aggregate':
      return aggregateRound(job.input, hooks);
    case 'validate':
      return validatePart(job.input, hooks);
    case 'finish':
      return finishEpoch(job.input, hooks);
  }
}

/** The storage requests made since `before`: the job's own, as the thread runs one job at a time. */
function since(before: StorageIo): StorageIo {
  const now = threadStorageIo();
  return {
    requests: now.requests - before.requests,
    bytesRead: now.bytesRead - before.bytesRead,
    bytesWritten: now.bytesWritten - before.bytesWritten,
    busyMs: now.busyMs - before.busyMs,
  };
}

async function run(job: Job, stopFlag: SharedArrayBuffer): Promise<void> {
  const flag = new Int32Array(stopFlag);
  const before = threadStorageIo();
  const hooks: Hooks = {
    store,
    shouldStop: () => Atomics.load(flag, 0) !== 0,
    onProgress: (progress) => post({ type: 'progress', progress }),
    log: (message) => post({ type: 'log', message }),
  };
  try {
    post({ type: 'done', output: await dispatch(job, hooks), storage: since(before) });
  } catch (err) {
    post({ type: 'error', error: serializeError(err), storage: since(before) });
  }
}

// run() posts every outcome, its failures included, so nothing is left to reject.
port.on('message', (m: ToThread) => {
  if (m.type === 'job') return void run(m.job, m.stopFlag);
  const p = pending.get(m.id);
  if (p === undefined) return;
  pending.delete(m.id);
  if (m.ok) p.resolve(m.value);
  else p.reject(rebuildError(m.error));
});
