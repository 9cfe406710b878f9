/**
 * Distributed data-parallel training through the real stack: the Temporal dev server,
 * the S3 server (rclone), and 1..N separate worker processes each training one shard at
 * a time (the GPU pool's worker, which serves shard rounds), on one generated physics
 * dataset and the inclusive model. Per worker count: samples/s over the whole run, and
 * per round the critical-path training time (slowest shard), the parameter exchange
 * (download + upload of weights and Adam state), the aggregation, and orchestration
 * (the rest of the round's wall time: scheduling, polling, thread hand-offs). Per-epoch
 * validation is reported apart: it is not part of the synchronisation.
 *
 * The worker processes (as many as the largest count) start once and are warmed by one
 * untimed run at the largest count, so no measured round pays for starting a process,
 * its training thread or tfjs; a round's model set-up (building the graph) is reported.
 *
 * Usage: node dist/bench/distributed.js [--workers 1,2,3,4] [--events-per-class N] [--max-len T] [--local-steps K]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPoolWorker } from '../workers/pool-worker.js';
import { workerOptions } from '../workers/worker-options.js';
import { storage } from '../src/storage/index.js';
import { buildPhysicsDataset } from '../test/helpers/physics-data.js';
import { modelConfig } from '../src/ml/models.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import type { DistributedTrainResult } from '../src/contract/distributed-rounds.js';
import type { DistributedTrainInput } from '../workflows/distributed-train.js';
import { CPU_TASK_QUEUE } from '../src/contract/task-queues.js';
import { dataDir } from '../src/paths.js';
import { fitScalingModel, predict } from './lib/distributed-model.js';
import { writeRecord, type Figure } from './lib/record.js';
import { startTestS3 } from '../test/helpers/s3-server.js';
import { startTestTemporal } from '../test/helpers/temporal.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,3,4' },
    'events-per-class': { type: 'string', default: '3000' },
    'max-len': { type: 'string', default: '801' },
    'local-steps': { type: 'string', default: '16' },
  },
});
const counts = values.workers.split(',').map(Number);
const maxLen = Number(values['max-len']);
const localSteps = Number(values['local-steps']);

// Other jobs on the machine skew every figure here: recorded at the start (and by the record at the end).
const loadAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
const s3 = await startTestS3();
Object.assign(process.env, s3.env);
const store = storage();
const dir = await mkdtemp(path.join(tmpdir(), 'hepflow-bench-distributed-'));
const ds = await buildPhysicsDataset({
  dir,
  selectedPerClass: Number(values['events-per-class']),
  seed: 11,
  rowGroupSize: 100,
});
const datasetUri = `s3://${s3.bucket}/dataset`;
for (const f of await readdir(path.dirname(ds.trainPath)))
  await store.write(`${datasetUri}/${f}`, await readFile(path.join(path.dirname(ds.trainPath), f)));
const env = await startTestTemporal();
const host = await createPoolWorker(env.nativeConnection, 'default', workerOptions('cpu', ['--max-activities', '1']));
const hosting = host.run();

function shardWorker(): ChildProcess {
  return spawn(process.execPath, [fileURLToPath(new URL('../workers/gpu-worker.js', import.meta.url))], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', HEPFLOW_STACK: 'none' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

interface Row {
  workers: number;
  rounds: number;
  samples: number;
  wallSeconds: number;
  samplesPerSecond: number;
  perRound: { compute: number; exchange: number; setup: number; aggregate: number; orchestration: number };
  validationSeconds: number;
  communicationShare: number;
  speedup?: number;
  efficiency?: number;
}
const rows: Row[] = [];
const config = defaultTrainConfig(modelConfig('inclusive', { maxLen }), { epochs: 1, backend: 'wasm', batchSize: 128 });
const procs = Array.from({ length: Math.max(...counts) }, shardWorker);
const train = (n: number, id: string): Promise<DistributedTrainResult> =>
  env.client.workflow.execute('distributedTrainWorkflow', {
    taskQueue: CPU_TASK_QUEUE,
    workflowId: `bench-distributed-${id}`,
    args: [
      {
        runId: id,
        datasetUri,
        outputUri: `s3://${s3.bucket}/runs/${id}`,
        config,
        workers: n,
        localSteps,
        pool: 'gpu',
      } satisfies DistributedTrainInput,
    ],
  });
try {
  await train(Math.max(...counts), 'warm-up');
  for (const n of counts) {
    const t0 = performance.now();
    const r = await train(n, `w${n}`);
    const wall = (performance.now() - t0) / 1000;
    const t = r.totals;
    const training = wall - t.validationSeconds;
    const orchestration = Math.max(
      0,
      training - t.computeSeconds - t.exchangeSeconds - t.setupSeconds - t.aggregateSeconds,
    );
    const row: Row = {
      workers: n,
      rounds: t.rounds,
      samples: t.samples,
      wallSeconds: wall,
      samplesPerSecond: t.samples / training,
      perRound: {
        compute: t.computeSeconds / t.rounds,
        exchange: t.exchangeSeconds / t.rounds,
        setup: t.setupSeconds / t.rounds,
        aggregate: t.aggregateSeconds / t.rounds,
        orchestration: orchestration / t.rounds,
      },
      validationSeconds: t.validationSeconds,
      communicationShare: (t.exchangeSeconds + t.aggregateSeconds) / training,
    };
    rows.push(row);
    console.log(
      `${n} worker(s): ${row.samplesPerSecond.toFixed(0)} samples/s over ${t.rounds} rounds; per round ` +
        `train ${row.perRound.compute.toFixed(2)} s, exchange ${row.perRound.exchange.toFixed(2)} s, model set-up ${row.perRound.setup.toFixed(2)} s, ` +
        `aggregate ${row.perRound.aggregate.toFixed(2)} s, orchestration ${row.perRound.orchestration.toFixed(2)} s → ` +
        `exchange + aggregation ${(100 * row.communicationShare).toFixed(1)}% of the round (validation ${t.validationSeconds.toFixed(1)} s apart)`,
    );
  }
  const base = rows.find((r) => r.workers === 1);
  for (const r of rows)
    if (base) {
      r.speedup = r.samplesPerSecond / base.samplesPerSecond;
      r.efficiency = r.speedup / r.workers;
    }
  console.log(
    '\n| workers | samples/s | speed-up | efficiency | s/round train | exchange | set-up | aggregate | orchestration | exchange + aggregation |\n|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    console.log(
      `| ${r.workers} | ${r.samplesPerSecond.toFixed(0)} | ${r.speedup?.toFixed(2) ?? ''}× | ${((r.efficiency ?? 0) * 100).toFixed(0)}% | ` +
        `${r.perRound.compute.toFixed(2)} | ${r.perRound.exchange.toFixed(2)} | ${r.perRound.setup.toFixed(2)} | ${r.perRound.aggregate.toFixed(2)} | ${r.perRound.orchestration.toFixed(2)} | ${(100 * r.communicationShare).toFixed(1)}% |`,
    );
  }
  const model = fitScalingModel(
    rows.map((r) => ({
      workers: r.workers,
      compute: r.perRound.compute,
      exchange: r.perRound.exchange + r.perRound.setup,
      overhead: r.perRound.aggregate + r.perRound.orchestration,
    })),
  );
  console.log(
    `\nscaling model (s per round): local steps ${model.c.toFixed(2)}, exchange + set-up ${model.x.toFixed(2)}, ` +
      `aggregation + orchestration ${model.o.toFixed(2)} + ${model.a.toFixed(3)}·N (bench/lib/distributed-model.ts)`,
  );
  const extrapolated = [10, 100, 1000].map((n) => ({ workers: n, ...predict(model, n) }));
  for (const e of extrapolated) {
    console.log(
      `  ${e.workers} workers: ${e.roundSeconds.toFixed(1)} s per round, efficiency ${(100 * e.efficiency).toFixed(0)}%, ` +
        `communication + orchestration ${(100 * e.communicationShare).toFixed(0)}%`,
    );
  }
  const most = rows[rows.length - 1]!;
  const figures: Figure[] = [
    {
      what: `throughput with ${most.workers} worker processes vs 1 (inclusive, T ≤ ${maxLen}, ${localSteps} local steps)`,
      unit: 'samples/s',
      hepflow: most.samplesPerSecond,
      peer: base?.samplesPerSecond ?? null,
      peerName: base ? '1 worker process' : null,
      ratio: most.speedup ?? null,
    },
    ...rows.map(
      (r): Figure => ({
        what: `exchange + aggregation share of a round, ${r.workers} worker process${r.workers > 1 ? 'es' : ''}`,
        unit: '%',
        hepflow: 100 * r.communicationShare,
        peer: null,
        peerName: null,
        ratio: null,
      }),
    ),
  ];
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  writeRecord({
    name: 'distributed',
    title: 'data-parallel training through Temporal + S3 with 1..N worker processes',
    command: `node dist/bench/distributed.js --workers ${counts.join(',')} --events-per-class ${values['events-per-class']} --max-len ${maxLen} --local-steps ${localSteps}`,
    figures,
    tables: [
      {
        title: "Per worker count (seconds per round; orchestration = the rest of the round's wall time)",
        columns: [
          'worker processes',
          'samples/s',
          'speed-up',
          'training (slowest shard)',
          'exchange',
          'model set-up',
          'aggregation',
          'orchestration',
          'exchange + aggregation',
          'validation per epoch (slowest part)',
        ],
        rows: rows.map((r) => [
          r.workers,
          r.samplesPerSecond,
          r.speedup === undefined ? null : `${r.speedup.toFixed(2)}×`,
          r.perRound.compute,
          r.perRound.exchange,
          r.perRound.setup,
          r.perRound.aggregate,
          r.perRound.orchestration,
          pct(r.communicationShare),
          r.validationSeconds,
        ]),
      },
      {
        title: `Extrapolation (bench/lib/distributed-model.ts) fitted to this run: c ${model.c.toFixed(2)} s, x ${model.x.toFixed(2)} s, o ${model.o.toFixed(2)} s, a ${model.a.toFixed(3)} s per worker`,
        columns: ['workers', 's per round', 'efficiency', 'exchange + aggregation + orchestration'],
        rows: extrapolated.map((e) => [e.workers, e.roundSeconds, pct(e.efficiency), pct(e.communicationShare)]),
      },
    ],
    notes: [
      `Load average (1, 5, 15 min) at the start: ${loadAtStart.join(', ')}; the machine is shared, so the worker processes divide its cores with other jobs.`,
      "One untimed warm-up run at the largest worker count first; the worker processes (the GPU pool's worker, serving shard rounds and validation parts) stay up across runs.",
      "One epoch per run; validation runs in one part per shard after the epoch's last round and is reported apart (its orchestration falls in the orchestration column).",
    ],
  });
  mkdirSync(path.join(dataDir(), 'bench'), { recursive: true });
  writeFileSync(
    path.join(dataDir(), 'bench', 'distributed.json'),
    JSON.stringify(
      { model: 'inclusive', maxLen, batch: config.batchSize, localSteps, rows, scalingModel: model, extrapolated },
      null,
      2,
    ),
  );
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => new Promise((res) => (p.exitCode !== null ? res(null) : p.once('exit', res)))));
  host.shutdown();
  await hosting;
  await env.teardown();
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
}
