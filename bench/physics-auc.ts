/**
 * Test-set AUCs and accuracy of the three models on generated physics events, side by
 * side with Keras training the same architectures on the same dataset in the same run
 * (bench/peers/physics_auc_keras.py) and with the reference's figures (arXiv:1807.00083,
 * Keras on the full-size dataset, 801 particles).
 *
 * Generates `--selected` selected events per class (test/helpers/physics-data.ts), assembles a
 * balanced dataset (80/20 train/test), then for each model trainRun → evaluateOnTestSet
 * (the pipeline's storage-level stages, on file:// URIs). With --raw the sequence models
 * are trained a second time on an identity particle scaler, i.e. on raw features.
 *
 * The default size (3,000 selected per class, 5 epochs) keeps `npm run bench` short; the
 * AUCs reach the paper's at `--selected 10000 --epochs 8` (docs/ml.md). Writes the record
 * .data/bench/physics-auc.record.json (bench/lib/record.ts).
 *
 * Usage: node dist/bench/physics-auc.js [--selected 3000] [--epochs 5] [--max-len 100] [--raw] [--dir <scratch>]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EVENT_CLASSES, PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import { buildPhysicsDataset } from '../test/helpers/physics-data.js';
import { modelConfig, type ModelKind } from '../src/ml/models.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { trainRun } from '../src/stages/train.js';
import { storage } from '../src/storage/index.js';
import { PAPER } from '../src/stages/report.js';
import { evaluateOnTestSet } from '../src/stages/evaluate.js';
import { projectRoot } from '../src/paths.js';
import { measure } from './lib/args.js';
import { writeRecord, type Figure } from './lib/record.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number, got ${process.argv[i + 1]}`);
  return v;
}
const selected = arg('selected', 3000);
const epochs = arg('epochs', 5);
const maxLen = arg('max-len', 100);
const raw = process.argv.includes('--raw');
const dirArg = process.argv.indexOf('--dir');
const dir =
  dirArg >= 0 ? path.resolve(process.argv[dirArg + 1]!) : path.join(tmpdir(), `hepflow-physics-auc-${process.pid}`);

interface Row {
  readonly model: string;
  readonly auc: Record<string, number>;
  readonly accuracy: number;
  readonly trainSeconds: number;
  readonly trainCpuSeconds: number;
  readonly samplesPerSecond: number;
  readonly epochs: number;
  readonly backend: string;
}

const load0 = loadavg();
const t0 = performance.now();
const log = (m: string) => console.error(`[physics-auc ${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}`);
rmSync(dir, { recursive: true, force: true });
const ds = await buildPhysicsDataset({ dir, selectedPerClass: selected, seed: 7, onProgress: log });
log(`dataset: train ${JSON.stringify(ds.metadata.counts.train)}, test ${JSON.stringify(ds.metadata.counts.test)}`);
const datasetUri = pathToFileURL(path.dirname(ds.trainPath)).href;

const runs: { name: string; kind: ModelKind; datasetUri: string }[] = [
  { name: 'hlf', kind: 'hlf', datasetUri },
  { name: 'particle-sequence', kind: 'particle-sequence', datasetUri },
  { name: 'inclusive', kind: 'inclusive', datasetUri },
];
if (raw) {
  // The same dataset with an identity particle scaler: what training on raw features gives.
  const rawDir = path.join(dir, 'dataset-raw');
  mkdirSync(rawDir, { recursive: true });
  for (const f of ['train.parquet', 'test.parquet', 'scaler.json', 'metadata.json']) {
    symlinkSync(path.join(path.dirname(ds.trainPath), f), path.join(rawDir, f));
  }
  const identity = {
    features: [...PARTICLE_FEATURE_NAMES],
    mean: PARTICLE_FEATURE_NAMES.map(() => 0),
    std: PARTICLE_FEATURE_NAMES.map(() => 1),
  };
  writeFileSync(path.join(rawDir, 'particle-scaler.json'), JSON.stringify(identity));
  const rawUri = pathToFileURL(rawDir).href;
  runs.push({ name: 'particle-sequence, raw particles', kind: 'particle-sequence', datasetUri: rawUri });
  runs.push({ name: 'inclusive, raw particles', kind: 'inclusive', datasetUri: rawUri });
}

const rows: Row[] = [];
for (const [i, run] of runs.entries()) {
  const out = pathToFileURL(path.join(dir, 'runs', `run-${i}`)).href;
  const config = defaultTrainConfig(modelConfig(run.kind, { maxLen }), { epochs });
  const { value: r, cpu } = await measure(() =>
    trainRun({ runId: run.name, datasetUri: run.datasetUri, outputUri: out, config }, { log, store: storage() }),
  );
  const e = await evaluateOnTestSet(
    {
      modelUri: r.modelUri,
      datasetUri: run.datasetUri,
      outputUri: `${out}/evaluation`,
    },
    storage(),
  );
  log(`${run.name}: AUC ${JSON.stringify(e.auc)}, accuracy ${e.accuracy.toFixed(4)}`);
  rows.push({
    model: run.name,
    auc: e.auc,
    accuracy: e.accuracy,
    trainSeconds: r.trainSeconds,
    trainCpuSeconds: cpu,
    samplesPerSecond: r.samplesPerSecond,
    epochs: r.epochsCompleted,
    backend: r.backend,
  });
}

log('Keras: the same three models on the same dataset');
interface KerasModel {
  auc: Record<string, number>;
  accuracy: number;
  trainSeconds: number;
  trainCpuSeconds: number;
}
const keras = JSON.parse(
  execFileSync(
    path.join(projectRoot, '.tools/venv/bin/python'),
    [
      path.join(projectRoot, 'bench/peers/physics_auc_keras.py'),
      path.dirname(ds.trainPath),
      String(maxLen),
      String(epochs),
      '128',
      EVENT_CLASSES.join(','),
      'hlf',
      'particle-sequence',
      'inclusive',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  ),
) as { keras: string; tensorflow: string; models: Record<string, KerasModel> };
const kerasName = `Keras ${keras.keras} on TensorFlow ${keras.tensorflow}, same data`;
const paperName = 'the paper (Keras, full dataset, T 801)';

const figures: Figure[] = rows.flatMap((r): Figure[] => {
  const k = keras.models[r.model];
  const p = PAPER[r.model];
  const out: Figure[] = [];
  const auc = (c: string, peer: number | undefined, peerName: string): Figure => ({
    what: `${r.model}: test AUC ${c === 'ttbar' ? 'tt̄' : c} (one-vs-rest), ${selected.toLocaleString('en-US')} selected events per class`,
    unit: 'AUC',
    hepflow: r.auc[c]!,
    peer: peer ?? null,
    peerName: peer === undefined ? null : peerName,
    ratio: peer === undefined ? null : r.auc[c]! / peer,
  });
  if (k) out.push(auc('ttbar', k.auc['ttbar'], kerasName));
  if (p) out.push(auc('ttbar', p.auc['ttbar'], paperName));
  return out;
});

const f3 = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));
const aucs = (a: Record<string, number> | undefined) => EVENT_CLASSES.map((c) => f3(a?.[c])).join(' / ');
const load1 = loadavg();
writeRecord({
  name: 'physics-auc',
  title: 'test AUCs of the three models vs Keras on the same data and vs the paper',
  command: `node dist/bench/physics-auc.js ${process.argv.slice(2).join(' ')}`.trim(),
  figures,
  tables: [
    {
      title:
        `Generated events, ${selected.toLocaleString('en-US')} selected per class → train ${ds.metadata.counts.train.qcd}×3, test ${ds.metadata.counts.test.qcd}×3; ` +
        `${epochs} epochs, batch 128, sequences ≤ ${maxLen} particles, best epoch by validation loss; AUC ${EVENT_CLASSES.join(' / ')}`,
      columns: [
        'model',
        'hepflow AUC',
        'hepflow accuracy',
        'Keras AUC',
        'Keras accuracy',
        'paper AUC',
        'paper accuracy',
        'hepflow train CPU s',
        'Keras train CPU s',
        'hepflow train s (wall)',
        'Keras train s (wall)',
      ],
      rows: rows.map((r) => {
        const k = keras.models[r.model];
        const p = PAPER[r.model];
        return [
          r.model,
          aucs(r.auc),
          r.accuracy,
          k ? aucs(k.auc) : null,
          k?.accuracy ?? null,
          p ? aucs(p.auc) : null,
          p?.accuracy ?? null,
          r.trainCpuSeconds,
          k?.trainCpuSeconds ?? null,
          r.trainSeconds,
          k?.trainSeconds ?? null,
        ];
      }),
    },
  ],
  notes: [
    `Load average (1, 5, 15 min) at the start ${load0.map((l) => l.toFixed(1)).join(', ')}, at the end ${load1.map((l) => l.toFixed(1)).join(', ')}.`,
    `Events generated per class: ${JSON.stringify(ds.generated)}. hepflow: trainRun → evaluateOnTestSet (the pipeline's stages, backend ${rows[0]?.backend ?? '–'}). Keras (${kerasName}) trains the architectures of bench/peers/keras_models.py on the same train/test files with the same scalers, padding and validation split (bench/peers/physics_auc_keras.py).`,
    "Train times are not a like-for-like speed comparison (bench/training.ts is): hepflow's trainRun streams the rows from Parquet through its shuffle buffer, computes the validation AUCs and writes a checkpoint every epoch, where Keras fits arrays already in memory.",
    "The paper's figures come from 3.43M Pythia + Delphes events with 801 particles per event; ours from hepflow's generator at this size, so only the Keras column compares like with like. `--selected 10000 --epochs 8` is the size docs/ml.md discusses.",
  ],
});

for (const r of rows)
  console.log(
    `hepflow ${r.model}: AUC ${aucs(r.auc)}, accuracy ${f3(r.accuracy)}, train ${r.trainSeconds.toFixed(0)} s`,
  );
for (const [m, k] of Object.entries(keras.models))
  console.log(`Keras ${m}: AUC ${aucs(k.auc)}, accuracy ${f3(k.accuracy)}, train ${k.trainSeconds.toFixed(0)} s`);
if (dirArg < 0) rmSync(dir, { recursive: true, force: true });
