/**
 * Entry point of the training worker thread (started by train-runner.ts). Training is
 * CPU-bound and synchronous between awaits, so it runs here, off the caller's event loop
 * (Temporal activity heartbeats, other activities). Everything with an outside binding —
 * the checkpoint store and the artifact sink — stays in the parent and is reached through
 * request/reply messages; the row source is built here from a module the parent names,
 * because reading and decoding Parquet is CPU work too.
 */
import '../process-warnings.js';
import { parentPort, workerData } from 'node:worker_threads';
import { threadStorageIo } from '../storage/io-meter.js';
import { installRuntimeSettings } from '../runtime-settings.js';
import { Storage } from '../storage/index.js';
import { runTraining } from './train.js';
import type { Checkpoint, CheckpointStore } from './training/checkpoint.js';
import type { ArtifactSink } from './training/model-dir.js';
import type { RowSource } from './data.js';
import {
  serializeError,
  TrainingWorkerError,
  type ParentMessage,
  type WorkerInit,
  type WorkerMessage,
} from './train-runner.js';

const port = parentPort;
if (port === null) throw new Error('train-worker.ts must run in a worker thread (use trainInWorker)');
const init = workerData as WorkerInit;
installRuntimeSettings(init.settings);
const stopFlag = new Int32Array(init.stopFlag);

let nextId = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
port.on('message', (m: ParentMessage) => {
  const p = pending.get(m.id);
  if (p === undefined) return;
  pending.delete(m.id);
  if (m.ok) p.resolve(m.value);
  else p.reject(new TrainingWorkerError(m.error));
});

function post(m: WorkerMessage): void {
  port!.postMessage(m);
}

function call(method: 'checkpoint.save' | 'checkpoint.loadLatest' | 'artifact.put', args: unknown[]): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ type: 'call', id, method, args });
  });
}

const checkpoints: CheckpointStore | undefined = init.hasCheckpoints
  ? {
      save: async (cp: Checkpoint) => {
        await call('checkpoint.save', [cp]);
      },
      loadLatest: async () => (await call('checkpoint.loadLatest', [])) as Checkpoint | undefined,
    }
  : undefined;
const artifacts: ArtifactSink = {
  put: async (name, data) => {
    await call('artifact.put', [name, data]);
  },
};

async function loadSource(): Promise<RowSource> {
  const { module, exportName = 'createRowSource', options } = init.source;
  const mod = (await import(module)) as Record<string, unknown>;
  const factory = mod[exportName];
  if (typeof factory !== 'function')
    throw new Error(`row source module ${module} has no function export '${exportName}'`);
  const source = await (factory as (o: unknown, deps: { store: Storage }) => RowSource | Promise<RowSource>)(options, {
    store: new Storage(),
  });
  if (typeof source?.batches !== 'function' || typeof source.id !== 'string') {
    throw new Error(`${module}#${exportName} did not return a RowSource ({ id, batches() })`);
  }
  return source;
}

try {
  const result = await runTraining(init.config, {
    source: await loadSource(),
    scaler: init.scaler,
    particleScaler: init.particleScaler,
    checkpoints,
    datasetIdentity: init.datasetIdentity,
    artifacts,
    onProgress: (progress) => post({ type: 'progress', progress }),
    shouldStop: () => Atomics.load(stopFlag, 0) !== 0,
    log: (message) => post({ type: 'log', message }),
    progressIntervalMs: init.progressIntervalMs,
  });
  post({ type: 'done', result, storage: threadStorageIo() });
} catch (err) {
  post({ type: 'error', error: serializeError(err), storage: threadStorageIo() });
}
// Pending store calls are settled by now; let the thread end even if tfjs keeps handles.
port.close();
