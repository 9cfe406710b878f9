/**
 * A pipeline run's summary as the workflow gathers it (`PipelineReport`), the paper's
 * figures it is compared with, and its Markdown rendering (report.md).
 */
import type { BuildDatasetResult } from './dataset.js';
import type { EvaluateResult } from './evaluate.js';
import type { TrainRunResult } from '../contract/training.js';
import type { SampleInput, SampleOutcome } from '../contract/samples.js';
import { EVENT_CLASSES } from '../physics/schema.js';

/** One stage of a run as the workflow timed it (workflow time: deterministic on replay). */
export interface StageTiming {
  /** e.g. `features`, `dataset`, `grid search hlf`. */
  readonly stage: string;
  readonly startedAt: string;
  readonly seconds: number;
}

export interface PipelineReport {
  readonly workflowId: string;
  /** The run's samples with what the features stage made of each. */
  readonly samples: readonly (SampleInput & SampleOutcome)[];
  /** Class names by label index. */
  readonly classes: readonly string[];
  readonly features: {
    readonly manifestUri: string;
    readonly files: number;
    readonly failed: number;
    readonly counters: Readonly<Record<string, number>>;
    /** Bytes of input listed. */
    readonly bytes: number;
    /** The policy the run ran under: with it, failed files are left out instead of failing the run. */
    readonly allowFailedFiles: boolean;
  };
  readonly dataset: BuildDatasetResult;
  readonly models: readonly {
    readonly name: string;
    readonly kind: string;
    readonly best: TrainRunResult;
    readonly trained: number;
    readonly failed: number;
    readonly tableUri: string;
    readonly evaluation: EvaluateResult;
  }[];
  /** In the order the stages finished; the grid searches of the models ran in parallel. */
  readonly timings: readonly StageTiming[];
}

/** Test-set AUCs of the reference paper (arXiv:1807.00083, Table 2 / Fig. 6) per model kind, for its preset classes. */
export const PAPER: Record<string, { auc: Record<string, number>; accuracy: number }> = {
  hlf: { auc: { qcd: 0.987, ttbar: 0.986, wjets: 0.981 }, accuracy: 0.916 },
  'particle-sequence': { auc: { ttbar: 0.991 }, accuracy: 0.939 },
  inclusive: { auc: { qcd: 0.995, ttbar: 0.997, wjets: 0.995 }, accuracy: 0.956 },
};

const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

const cutFlow = (c: Readonly<Record<string, number>>): string =>
  `read ${c.read ?? 0}, with track ${c.withTrack ?? 0}, photon ${c.withPhoton ?? 0}, neutral hadron ${c.withNeutralHadron ?? 0}, ` +
  `isolated lepton ${c.withIsolatedLepton ?? 0}`;

export function renderPipelineReport(r: PipelineReport): string {
  const paper = r.classes.join() === EVENT_CLASSES.join();
  const lines = [
    `# hepflow pipeline ${r.workflowId}`,
    '',
    `Classes (label order): ${r.classes.join(', ')}.`,
    '',
    '| sample | class | input | files ok | failed | cut flow |',
    '|---|---|---|---|---|---|',
    ...r.samples.map(
      (s) =>
        `| ${s.name} | ${s.sidecar ? 'per-event sidecar' : (s.label ?? s.name)} | ${(s.uris ?? [s.uri]).join(' ')} | ${s.ok} | ${s.failed} | ${cutFlow(s.counters)} |`,
    ),
    '',
    `Cut flow over ${r.features.files} files (${r.features.failed} failed): ${cutFlow(r.features.counters)}.`,
    ...(r.features.failed > 0 && r.features.allowFailedFiles
      ? [
          '',
          `**${r.features.failed} input files failed and were left out under the run's allowFailedFiles policy** (causes in ${r.features.manifestUri}).`,
        ]
      : []),
    '',
    `Dataset (${r.dataset.kind}): ${r.dataset.perClass} events per class of ${JSON.stringify(r.dataset.available)} selected; ` +
      `train ${JSON.stringify(r.dataset.counts.train)}, test ${JSON.stringify(r.dataset.counts.test)}; ${r.dataset.datasetUri}`,
    '',
    `| model | best point | points | ${r.classes.map((c) => `test AUC ${c}`).join(' | ')} | accuracy |${paper ? ` paper AUC ${EVENT_CLASSES.join(' / ')} | paper accuracy |` : ''}`,
    `|---|---|---|${r.classes.map(() => '---|').join('')}---|${paper ? '---|---|' : ''}`,
  ];
  for (const m of r.models) {
    const p = PAPER[m.kind];
    const paperCells = !paper
      ? ''
      : ` ${p ? r.classes.map((c) => f3(p.auc[c])).join(' / ') : '–'} | ${p ? f3(p.accuracy) : '–'} |`;
    lines.push(
      `| ${m.name} (${m.kind}) | ${m.best.runId} | ${m.trained}${m.failed ? ` (+${m.failed} failed)` : ''} | ` +
        `${r.classes.map((c) => f3(m.evaluation.auc[c])).join(' | ')} | ${f3(m.evaluation.accuracy)} |${paperCells}`,
    );
  }
  lines.push('', ...r.models.map((m) => `- ${m.name}: ROC plot ${m.evaluation.plotUri}, grid table ${m.tableUri}`), '');
  return lines.join('\n');
}
