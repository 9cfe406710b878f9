/**
 * Using a trained model: batch-scoring throughput (events per CPU-second on one core) of
 * the three models, the sequence models at T ≤ 100 and at the paper's T ≤ 801, side by
 * side with Keras predict on the same model (hepflow's
 * .keras export) and the same batches, pinned to one thread (bench/peers/
 * keras_predict_bench.py, a process kept up so that rounds of hepflow and of Keras
 * alternate under the same load). Inputs are generated physics events' features. The
 * inference service under load is bench/serve-load.ts.
 * Usage: node dist/bench/serving.js [--seconds S] [--rounds R]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { N_PARTICLE_FEATURES } from '../src/physics/schema.js';
import { initBackend, type BackendKind } from '../src/ml/backend.js';
import type { InputRow } from '../src/ml/data.js';
import { bundleFromFiles, predictProbabilities, type ModelBundle } from '../src/ml/model-bundle.js';
import { readModelFiles } from '../src/ml/training/model-dir.js';
import type { ModelKind } from '../src/ml/models.js';
import { exportModel } from '../src/stages/export.js';
import { storage } from '../src/storage/index.js';
import { dataDir } from '../src/paths.js';
import { writeRecord, type Figure } from './lib/record.js';
import { KerasPeer, median, modelDir, physicsRows, type Rate } from './lib/serving-models.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('--seconds', 3);
const ROUNDS = arg('--rounds', 3);
const BATCH = 1024;
/** Models and the longest sequence they keep: the sequence models at 100 and at the paper's 801. */
const CASES: readonly { kind: ModelKind; maxLen: number }[] = [
  { kind: 'hlf', maxLen: 100 },
  { kind: 'particle-sequence', maxLen: 100 },
  { kind: 'inclusive', maxLen: 100 },
  { kind: 'particle-sequence', maxLen: 801 },
  { kind: 'inclusive', maxLen: 801 },
];

/** Events per second of wall time and per CPU-second (user + system of this process: robust to other jobs on the machine). */
async function throughput(bundle: ModelBundle, rows: readonly InputRow[]): Promise<Rate> {
  let done = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await predictProbabilities(bundle, rows);
    done += rows.length;
  }
  const c = process.cpuUsage(c0);
  return { wall: done / ((performance.now() - t0) / 1000), cpu: done / ((c.user + c.system) / 1e6) };
}

async function main(): Promise<void> {
  process.env.HEPFLOW_GRU_THREADS ??= '1';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-bench-serving-'));
  const rows = physicsRows(BATCH);
  // The fused kernels do not go through tfjs; the backend only matters for a tfjs fallback.
  const backend: BackendKind = 'cpu';
  await initBackend(backend);
  const results: Record<string, unknown>[] = [];
  console.log(
    `batch scoring, ${BATCH} generated events per call, one core (Keras: 1 thread; hepflow: one JS thread, GRU kernel HEPFLOW_GRU_THREADS=${process.env.HEPFLOW_GRU_THREADS}), ${ROUNDS} alternating rounds of ${SECONDS} s each`,
  );
  console.log(
    '| model | T ≤ | padded T / mean steps | hepflow events/CPU-s | Keras events/CPU-s | ratio (median) | ratio (worst round) | ratio (wall) |\n|---|---|---|---|---|---|---|---|',
  );
  for (const { kind, maxLen } of CASES) {
    const src = await modelDir(dir, kind, maxLen, rows);
    const exported = `${src}-export`;
    await exportModel(storage(), { modelUri: src, outputUri: exported });
    const bundle = await bundleFromFiles(await readModelFiles(storage(), src));
    const peer = new KerasPeer();
    await peer.load(exported, bundle, rows);
    await predictProbabilities(bundle, rows);
    const ours: Rate[] = [];
    const theirs: Rate[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      ours.push(await throughput(bundle, rows));
      theirs.push(await peer.measure(SECONDS));
    }
    await peer.close();
    bundle.model.dispose();
    const lengths = rows.map((r) => Math.min(r.particles.length / N_PARTICLE_FEATURES, maxLen));
    const steps =
      kind === 'hlf'
        ? null
        : { padded: Math.max(...lengths), mean: lengths.reduce((a, b) => a + b, 0) / lengths.length };
    const row = {
      case: 'scoring',
      kind,
      maxLen,
      steps,
      hepflow: { cpu: median(ours.map((o) => o.cpu)), wall: median(ours.map((o) => o.wall)) },
      keras: { cpu: median(theirs.map((o) => o.cpu)), wall: median(theirs.map((o) => o.wall)) },
      worstRatio: Math.min(...ours.map((o, i) => o.cpu / theirs[i]!.cpu)),
      rounds: ours.map((o, i) => ({ hepflow: o, keras: theirs[i] })),
    };
    results.push(row);
    console.log(
      `| ${kind} | ${kind === 'hlf' ? '' : maxLen} | ${steps ? `${steps.padded} / ${steps.mean.toFixed(0)}` : ''} | ${row.hepflow.cpu.toFixed(0)} | ${row.keras.cpu.toFixed(0)} | ${(row.hepflow.cpu / row.keras.cpu).toFixed(2)} | ${row.worstRatio.toFixed(2)} | ${(row.hepflow.wall / row.keras.wall).toFixed(2)} |`,
    );
  }

  const out = path.join(dataDir(), 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, 'serving.json'),
    JSON.stringify({ seconds: SECONDS, rounds: ROUNDS, batch: BATCH, results }, null, 2),
  );

  const scoring = results.filter((r) => r.case === 'scoring') as {
    kind: ModelKind;
    maxLen: number;
    steps: { padded: number; mean: number } | null;
    hepflow: Rate;
    keras: Rate;
    worstRatio: number;
  }[];
  const figures: Figure[] = [
    ...scoring.map((r) => ({
      what: `batch scoring, ${r.kind}${r.kind === 'hlf' ? '' : `, T ≤ ${r.maxLen}`}, ${BATCH} events per call, per core (median of ${ROUNDS} alternating rounds)`,
      unit: 'events per CPU-s',
      hepflow: r.hepflow.cpu,
      peer: r.keras.cpu,
      peerName: 'Keras predict_on_batch, 1 thread',
      ratio: r.hepflow.cpu / r.keras.cpu,
      target: 2,
    })),
  ];
  writeRecord({
    name: 'serving',
    title: 'batch scoring vs Keras predict',
    command: `node dist/bench/serving.js ${process.argv.slice(2).join(' ')}`.trim(),
    figures,
    tables: [
      {
        title: `Batch scoring, ${BATCH} generated events per call, one core, median of ${ROUNDS} alternating rounds of ${SECONDS} s`,
        columns: [
          'model',
          'T ≤',
          'padded T / mean real steps',
          'hepflow events/CPU-s',
          'Keras events/CPU-s',
          'ratio (CPU time)',
          'worst round',
          'hepflow events/s (wall)',
          'Keras events/s (wall)',
          'ratio (wall)',
        ],
        rows: scoring.map((r) => [
          r.kind,
          r.kind === 'hlf' ? '' : r.maxLen,
          r.steps ? `${r.steps.padded} / ${r.steps.mean.toFixed(0)}` : '',
          r.hepflow.cpu,
          r.keras.cpu,
          `${(r.hepflow.cpu / r.keras.cpu).toFixed(2)}×`,
          `${r.worstRatio.toFixed(2)}×`,
          r.hepflow.wall,
          r.keras.wall,
          `${(r.hepflow.wall / r.keras.wall).toFixed(2)}×`,
        ]),
      },
    ],
    notes: [
      "hepflow's time includes turning feature rows into model inputs (scaling; the sequences go to the GRU kernel unpadded); Keras gets the finished arrays, padded in front to the batch's longest sequence (padded T) as hepflow's tfjs path would feed them, and runs every padded step (Masking only keeps the state). Both sides are pinned to one thread (HEPFLOW_GRU_THREADS=1 for the fused GRU). Per core = events per CPU-second of the whole process (all its threads), which other jobs on a shared machine disturb far less than wall-clock rates.",
      'Rounds alternate (hepflow, then Keras in its own process kept up between rounds), so both sides see the same load; the headline is the median, the worst round is the lowest per-round ratio.',
      "All three models predict through the fused kernels (src/ml/fused-predict.ts): the dense classifier in the fused dense kernel, the sequence models' GRU in the inference GRU kernel (native/fused_gru/src/gru_infer.cc) and their head in the dense kernel; tfjs is not involved, so its backend does not matter.",
    ],
  });
}

await main();
