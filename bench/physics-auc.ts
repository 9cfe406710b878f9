/**
 * Test-set AUCs and accuracy of the three models on generated physics events, side by
 * side with the reference's figures (arXiv:1807.00083, full-size dataset, 801 particles).
 *
 * Generates `--selected` selected events per class (test/helpers/physics-data.ts), assembles a
 * balanced dataset (80/20 train/test), then for each model trainRun → evaluateOnTestSet
 * (the pipeline's storage-level stages, on file:// URIs). With --raw the sequence models
 * are trained a second time on an identity particle scaler, i.e. on raw features.
 *
 * Usage: node dist/bench/physics-auc.js [--selected 10000] [--epochs 5] [--max-len 100] [--raw] [--dir <scratch>]
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PARTICLE_FEATURE_NAMES } from '../src/physics/schema.js';
import { buildPhysicsDataset } from '../test/helpers/physics-data.js';
import { modelConfig, type ModelKind } from '../src/ml/models.js';
import { defaultTrainConfig } from '../src/ml/train.js';
import { trainRun } from '../src/stages/train.js';
import { PAPER } from '../src/stages/report.js';
import { evaluateOnTestSet } from '../src/stages/evaluate.js';
import { dataDir } from '../src/paths.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number, got ${process.argv[i + 1]}`);
  return v;
}
const selected = arg('selected', 10_000);
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
  readonly samplesPerSecond: number;
  readonly epochs: number;
  readonly backend: string;
}

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
  const r = await trainRun({ runId: run.name, datasetUri: run.datasetUri, outputUri: out, config }, { log });
  const e = await evaluateOnTestSet({
    modelUri: r.modelUri,
    datasetUri: run.datasetUri,
    outputUri: `${out}/evaluation`,
  });
  log(`${run.name}: AUC ${JSON.stringify(e.auc)}, accuracy ${e.accuracy.toFixed(4)}`);
  rows.push({
    model: run.name,
    auc: e.auc,
    accuracy: e.accuracy,
    trainSeconds: r.trainSeconds,
    samplesPerSecond: r.samplesPerSecond,
    epochs: r.epochsCompleted,
    backend: r.backend,
  });
}

const f3 = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));
const lines = [
  `Generated events, ${selected} selected per class → train ${ds.metadata.counts.train.qcd}×3, test ${ds.metadata.counts.test.qcd}×3; ` +
    `${epochs} epochs, batch 128, maxLen ${maxLen} (the paper: full dataset, 801 particles)`,
  '',
  '| model | AUC QCD | AUC tt̄ | AUC W+jets | accuracy | paper AUC QCD / tt̄ / W+jets | paper accuracy | train s | samples/s |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const p = r.model in PAPER ? PAPER[r.model as ModelKind] : undefined;
    const paper = p ? `${f3(p.auc.qcd)} / ${f3(p.auc.ttbar)} / ${f3(p.auc.wjets)}` : '–';
    return (
      `| ${r.model} | ${f3(r.auc.qcd)} | ${f3(r.auc.ttbar)} | ${f3(r.auc.wjets)} | ${f3(r.accuracy)} | ${paper} | ${f3(p?.accuracy)} | ` +
      `${r.trainSeconds.toFixed(0)} | ${r.samplesPerSecond.toFixed(0)} |`
    );
  }),
];
console.log(lines.join('\n'));
const outDir = path.join(dataDir(), 'bench');
mkdirSync(outDir, { recursive: true });
writeFileSync(
  path.join(outDir, 'physics-auc.json'),
  JSON.stringify(
    {
      selectedPerClass: selected,
      epochs,
      maxLen,
      counts: ds.metadata.counts,
      generated: ds.generated,
      paper: PAPER,
      results: rows,
    },
    null,
    2,
  ),
);
if (dirArg < 0) rmSync(dir, { recursive: true, force: true });
