/** Entry point of the pooled threads runJobInThread (thread.ts) starts: one job at a time. */
import '../../process-warnings.js';
import { parentPort, workerData } from 'node:worker_threads';
import { installRuntimeSettings } from '../../runtime-settings.js';
import { Storage } from '../../storage/index.js';
import { planRun } from './plan.js';
import { aggregateRound, trainShard } from './shard-job.js';
import { finishEpoch, validatePart } from './epoch-job.js';
import type { JobRequest, JobThreadData, JobThreadMessage } from './thread.js';
import { serializeError } from '../train-runner.js';

const port = parentPort;
if (port === null) throw new Error('job-thread.ts must run in a worker thread (use runJobInThread)');
installRuntimeSettings((workerData as JobThreadData).settings);
const post = (m: JobThreadMessage) => port.postMessage(m);
// One store per thread, reused by every job it runs (its S3 client and connection pool).
const store = new Storage();

async function run({ job, stopFlag }: JobRequest): Promise<void> {
  const flag = new Int32Array(stopFlag);
  const hooks = {
    store,
    shouldStop: () => Atomics.load(flag, 0) !== 0,
    onProgress: (progress: { batch: number; loss: number; samples: number }) => post({ type: 'progress', progress }),
    log: (message: string) => post({ type: 'log', message }),
  };
  try {
    const output =
      job.kind === 'plan'
        ? await planRun(job.input, hooks)
        : job.kind === 'shard'
          ? await trainShard(job.input, hooks)
          : job.kind === 'aggregate'
            ? await aggregateRound(job.input, hooks)
            : job.kind === 'validate'
              ? await validatePart(job.input, hooks)
              : await finishEpoch(job.input, hooks);
    post({ type: 'done', output });
  } catch (err) {
    post({ type: 'error', error: serializeError(err) });
  }
}

// run() posts every outcome, its failures included, so nothing is left to reject.
port.on('message', (request: JobRequest) => void run(request));
