/**
 * Tuning the HLF classifier three ways on the same search space, data and trainer:
 * hepflow's ASHA (src/contract/tuning.ts nextJob, the tune workflow's rule, over Halton
 * trials), hepflow's grid (every point trained to the end), and Optuna's TPE sampler
 * with its SuccessiveHalvingPruner (test/python/optuna_tune.py). All three drive the
 * same trainer (bench/lib/tune-trainer.ts: trainRun resuming from the trial's
 * checkpoint), one training at a time, so they differ only in which trials they train
 * how long. Measured: the best validation AUC reached against the CPU seconds spent
 * (training plus the tuner's own), and the CPU seconds each needed to reach the grid's
 * best AUC. The study runs in this process, not through Temporal: the workflow's
 * overhead is not what is compared (docs/tuning.md).
 *
 * Dataset: generated events (test/helpers/physics-data.ts), `--selected` selected per
 * class. The default (600 per class, 12 trials, rungs 1/3/6 epochs) takes a few minutes
 * on 2 cores; `--selected 3000 --trials 32 --max-epochs 9` is the bigger form.
 *
 * Usage: node dist/bench/tuning.js [--selected 600] [--trials 12] [--max-epochs 6] [--eta 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPhysicsDataset } from '../test/helpers/physics-data.js';
import {
  nextJob,
  rungEpochs,
  sampleTrial,
  trialId,
  type HalvingConfig,
  type RungResult,
  type SearchSpace,
} from '../src/contract/tuning.js';
import { projectRoot } from '../src/paths.js';
import { intOption } from './lib/args.js';
import { writeRecord, type Figure } from './lib/record.js';
import { trialTrainer, type TrainRequest } from './lib/tune-trainer.js';

const selected = intOption('selected', 600);
const trials = intOption('trials', 12);
const maxEpochs = intOption('max-epochs', 6);
const eta = intOption('eta', 3, 2);
const seed = 1;
const dir = path.join(tmpdir(), `hepflow-tuning-bench-${process.pid}`);
const log = (m: string) => console.log(`[tuning] ${m}`);

/** The space every tuner searches (Optuna's words for it: test/python/optuna_tune.py). */
const SPACE: SearchSpace = {
  batchSize: { type: 'choice', values: [32, 64, 128, 256] },
  learningRate: { type: 'loguniform', min: 1e-4, max: 3e-2 },
  dropout: { type: 'uniform', min: 0, max: 0.5 },
  hiddenUnits: { type: 'int', min: 10, max: 200, log: true },
};
/** The grid over the same space: two values per hyper-parameter but dropout (the default 0.2). */
const GRID = { batch: [64, 256], learningRate: [1e-3, 1e-2], hiddenUnits: [20, 100] };

/** One trial-rung as it ran: the best validation AUC so far comes from the running maximum. */
interface Step {
  readonly trial: string;
  readonly rung: number;
  readonly auc: number;
  readonly cpu: number;
}

async function hepflowAsha(train: (r: TrainRequest) => Promise<{ valMeanAuc: number; cpuSeconds: number }>) {
  const halving: HalvingConfig = { minEpochs: 1, maxEpochs, eta, brackets: 1 };
  const epochs = rungEpochs(halving);
  const results: RungResult[] = [];
  const steps: Step[] = [];
  for (;;) {
    const d = nextJob(halving, trials, results, []);
    if (!('next' in d)) return steps;
    const { index, rung } = d.next;
    const c0 = process.cpuUsage();
    const params = sampleTrial(SPACE, 'halton', seed, index);
    const r = await train({ trial: `asha-${trialId(index)}`, params, epochs: epochs[rung]! });
    const own = process.cpuUsage(c0);
    results.push({ index, rung, score: Number.isFinite(r.valMeanAuc) ? r.valMeanAuc : undefined });
    // The trainer's CPU is inside this process's: the tuner's own is what is left over.
    steps.push({ trial: trialId(index), rung, auc: r.valMeanAuc, cpu: (own.user + own.system) / 1e6 });
  }
}

async function hepflowGrid(train: (r: TrainRequest) => Promise<{ valMeanAuc: number; cpuSeconds: number }>) {
  const steps: Step[] = [];
  for (const batchSize of GRID.batch)
    for (const learningRate of GRID.learningRate)
      for (const hiddenUnits of GRID.hiddenUnits) {
        const trial = `grid-b${batchSize}-lr${learningRate}-h${hiddenUnits}`;
        const r = await train({ trial, params: { batchSize, learningRate, hiddenUnits }, epochs: maxEpochs });
        steps.push({ trial, rung: 0, auc: r.valMeanAuc, cpu: r.cpuSeconds });
      }
  return steps;
}

function optuna(datasetDir: string): { version: string; steps: Step[] } {
  const out = execFileSync(
    path.join(projectRoot, '.tools/venv/bin/python'),
    [
      path.join(projectRoot, 'test/python/optuna_tune.py'),
      process.execPath,
      fileURLToPath(new URL('./lib/tune-trainer.js', import.meta.url)),
      datasetDir,
      path.join(dir, 'optuna'),
      String(trials),
      '1',
      String(maxEpochs),
      String(eta),
      String(seed),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const r = JSON.parse(out) as { optuna: string; steps: Step[] };
  return { version: r.optuna, steps: r.steps };
}

/** The curve: after each trial-rung, the CPU seconds so far and the best validation AUC so far. */
function curve(steps: readonly Step[]): { cpu: number; best: number }[] {
  let cpu = 0;
  let best = -Infinity;
  return steps.map((s) => {
    cpu += s.cpu;
    if (Number.isFinite(s.auc)) best = Math.max(best, s.auc);
    return { cpu, best };
  });
}

/** CPU seconds until the best AUC reached `target`; undefined if it never did. */
const cpuToReach = (c: readonly { cpu: number; best: number }[], target: number) =>
  c.find((p) => p.best >= target)?.cpu;

mkdirSync(dir, { recursive: true });
try {
  log(`dataset: ${selected} selected events per class`);
  const ds = await buildPhysicsDataset({ dir: path.join(dir, 'data'), selectedPerClass: selected, seed: 11 });
  const datasetDir = path.dirname(ds.trainPath);
  const train = trialTrainer(datasetDir, path.join(dir, 'runs'));
  log('hepflow grid');
  const grid = curve(await hepflowGrid(train));
  log('hepflow ASHA');
  const ashaSteps = await hepflowAsha(train);
  const asha = curve(ashaSteps);
  log('Optuna TPE + SuccessiveHalvingPruner');
  const opt = optuna(datasetDir);
  const optCurve = curve(opt.steps);
  const gridBest = grid.at(-1)!.best;
  const gridCpu = grid.at(-1)!.cpu;
  const within = gridBest - 0.005;
  const rows = [
    ['hepflow ASHA (Halton)', asha, ashaSteps.length],
    ['hepflow grid', grid, grid.length],
    [`Optuna ${opt.version} TPE + SuccessiveHalvingPruner`, optCurve, opt.steps.length],
  ] as const;
  const f1 = (v: number | undefined) => (v === undefined ? 'never' : v.toFixed(1));
  const figures: Figure[] = [
    {
      what: `best validation AUC (mean one-vs-rest), ${trials} trials vs Optuna's ${trials}, same trainer`,
      unit: 'AUC',
      hepflow: asha.at(-1)!.best,
      peer: optCurve.at(-1)!.best,
      peerName: `Optuna ${opt.version}`,
      ratio: asha.at(-1)!.best / optCurve.at(-1)!.best,
    },
    {
      what: 'CPU seconds of the whole study (lower is better)',
      unit: 'CPU s',
      hepflow: asha.at(-1)!.cpu,
      peer: optCurve.at(-1)!.cpu,
      peerName: `Optuna ${opt.version}`,
      ratio: optCurve.at(-1)!.cpu / asha.at(-1)!.cpu,
    },
    {
      what: "hepflow ASHA's CPU seconds vs hepflow grid's (lower is better)",
      unit: 'CPU s',
      hepflow: asha.at(-1)!.cpu,
      peer: gridCpu,
      peerName: 'hepflow grid',
      ratio: gridCpu / asha.at(-1)!.cpu,
    },
  ];
  const points = (c: readonly { cpu: number; best: number }[]) =>
    [0.25, 0.5, 0.75, 1].map((q) => {
      const p = c.find((x) => x.cpu >= q * c.at(-1)!.cpu)!;
      return `${p.cpu.toFixed(0)} s: ${p.best.toFixed(4)}`;
    });
  writeRecord({
    name: 'tuning',
    title: "HLF tuning: hepflow's ASHA vs its grid vs Optuna's pruner, same space, data and trainer",
    command: `node dist/bench/tuning.js ${process.argv.slice(2).join(' ')}`.trim(),
    figures,
    tables: [
      {
        title:
          `Generated events, ${selected} selected per class (train ${ds.metadata.counts.train.qcd}×3, 10% of it validation); ` +
          `rungs ${rungEpochs({ minEpochs: 1, maxEpochs, eta }).join('/')} epochs; grid best AUC ${gridBest.toFixed(4)}`,
        columns: [
          'tuner',
          'trial-rungs trained',
          'best val AUC',
          'CPU s',
          `CPU s to the grid's best (${gridBest.toFixed(4)})`,
          `CPU s to within 0.005 of it`,
          'best AUC at 25/50/75/100% of its CPU',
        ],
        rows: rows.map(([name, c, n]) => [
          name,
          n,
          Number(c.at(-1)!.best.toFixed(4)),
          Number(c.at(-1)!.cpu.toFixed(1)),
          f1(cpuToReach(c, gridBest)),
          f1(cpuToReach(c, within)),
          points(c).join('; '),
        ]),
      },
    ],
    notes: [
      `Search space: batch size {32, 64, 128, 256}, learning rate log-uniform 1e-4..3e-2, dropout uniform 0..0.5, first hidden layer 10..200 units (log int, the reference's 50/20/10 funnel scaled). Grid: batch {64, 256} × learning rate {1e-3, 1e-2} × hidden units {20, 100}, dropout 0.2, every point to ${maxEpochs} epochs.`,
      "Every tuner calls the same trainer one training at a time: 'train trial X to E epochs' resumes from the trial's checkpoint, so a promotion (ASHA) or a continued trial (Optuna) pays only for the added epochs. CPU seconds are the trainer's plus the tuner's own (Optuna's sampling and pruning, hepflow's decisions); HLF on the wasm backend.",
      "Optuna's pruner stops a trial at a rung when it is below the rung's top 1/eta so far; hepflow's ASHA instead promotes the top 1/eta of each rung as results arrive (asynchronous successive halving, docs/tuning.md).",
    ],
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
