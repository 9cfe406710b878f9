import type { BuildDatasetResult } from './dataset.js';
import type { EvaluateResult } from './evaluate.js';
import type { TrainRunResult } from './train.js';

export interface PipelineReport {
  readonly workflowId: string;
  readonly inputUri: string;
  readonly features: { readonly manifestUri: string; readonly files: number; readonly failed: number; readonly counters: Readonly<Record<string, number>> };
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
}

/** Test-set AUCs of the reference paper (arXiv:1807.00083), per model kind. */
const PAPER: Record<string, { auc: Record<string, number>; accuracy: number }> = {
  hlf: { auc: { QCD: 0.987, ttbar: 0.986, WJets: 0.981 }, accuracy: 0.916 },
  'particle-sequence': { auc: { ttbar: 0.991 }, accuracy: 0.939 },
  inclusive: { auc: { QCD: 0.995, ttbar: 0.997, WJets: 0.995 }, accuracy: 0.956 },
};

const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));

export function renderPipelineReport(r: PipelineReport): string {
  const c = r.features.counters;
  const lines = [
    `# hepflow pipeline ${r.workflowId}`,
    '',
    `Input: ${r.inputUri}`,
    '',
    `Cut flow over ${r.features.files} files (${r.features.failed} failed): read ${c.read ?? 0}, with track ${c.withTrack ?? 0}, ` +
      `photon ${c.withPhoton ?? 0}, neutral hadron ${c.withNeutralHadron ?? 0}, isolated lepton ${c.withIsolatedLepton ?? 0}.`,
    '',
    `Dataset (${r.dataset.kind}): ${r.dataset.perClass} events per class; train ${JSON.stringify(r.dataset.counts.train)}, test ${JSON.stringify(r.dataset.counts.test)}; ${r.dataset.datasetUri}`,
    '',
    '| model | best point | points | test AUC QCD | tt̄ | W+jets | accuracy | paper AUC QCD / tt̄ / W | paper accuracy |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const m of r.models) {
    const a = m.evaluation.auc;
    const p = PAPER[m.kind];
    lines.push(
      `| ${m.name} (${m.kind}) | ${m.best.runId} | ${m.trained}${m.failed ? ` (+${m.failed} failed)` : ''} | ${f3(a.QCD)} | ${f3(a.ttbar)} | ${f3(a.WJets)} | ${f3(m.evaluation.accuracy)} | ` +
        `${p ? `${f3(p.auc.QCD)} / ${f3(p.auc.ttbar)} / ${f3(p.auc.WJets)}` : '–'} | ${p ? f3(p.accuracy) : '–'} |`,
    );
  }
  lines.push('', ...r.models.map((m) => `- ${m.name}: ROC plot ${m.evaluation.plotUri}, grid table ${m.tableUri}`), '');
  return lines.join('\n');
}
