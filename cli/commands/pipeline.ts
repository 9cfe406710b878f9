import { storage } from '../../src/storage/index.js';
import type { PipelineInput, PipelineModel } from '../../workflows/pipeline.js';
import type { PipelineReport } from '../../src/stages/report.js';
import { UsageError } from '../args.js';
import type { SampleInput } from '../../src/contract/samples.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';
import { queuesOf } from '../run-progress.js';
import { CPU_TASK_QUEUE } from '../../src/contract/task-queues.js';
import { checkAtEdge, readRunFile } from '../run-file.js';
import { pipelineInputSchema } from '../../workflows/input-schemas.js';
import { pipelineConfigSummary } from '../../workflows/pipeline-summary.js';
import { withoutUndefined } from '../../src/contract/defined.js';

/**
 * The models of a standard run: the HLF classifier tuned over a small grid as the paper
 * did, and the two sequence models at the reference architecture.
 */
export function standardModels(o: { maxLen: number; epochs: number; pool: 'cpu' | 'gpu' }): PipelineModel[] {
  const training = { epochs: o.epochs };
  return [
    {
      name: 'hlf',
      spec: { kind: 'hlf', training },
      grid: {
        batch: [64, 128],
        layers: [
          [50, 20, 10],
          [150, 50, 10],
        ],
      },
      pool: o.pool,
    },
    { name: 'gru', spec: { kind: 'particle-sequence', model: { maxLen: o.maxLen }, training }, pool: o.pool },
    { name: 'inclusive', spec: { kind: 'inclusive', model: { maxLen: o.maxLen }, training }, pool: o.pool },
  ];
}

/** The run in the UI's words: the summary line (input → models) and details (Markdown). */
export function pipelineSummary(input: PipelineInput): { summary: string; details: string } {
  const c = pipelineConfigSummary(input);
  const source = input.generate
    ? `${input.generate.events} generated events`
    : (input.samples ?? []).map((s) => s.name).join(', ');
  return {
    summary: `pipeline: ${source} → ${input.models.map((m) => m.name).join(', ')}`,
    details: `**work**: ${c.workUri}\n\n**input**: ${c.input}\n\n**models**: ${c.models.join(', ')}`,
  };
}

export const runPipeline = (input: PipelineInput, o: { localWorker: boolean; wait: boolean; workflowId: string }) =>
  runWorkflow<PipelineReport & { reportUri: string; htmlReportUri: string }>('pipelineWorkflow', input, {
    ...o,
    ...pipelineSummary(input),
    queues: queuesOf(input, CPU_TASK_QUEUE),
  });

export async function printReport(r: { reportUri: string; htmlReportUri: string }): Promise<void> {
  console.log(Buffer.from(await storage().readAll(r.reportUri)).toString('utf8'));
  console.log(
    `report: ${r.reportUri}\nHTML report (plots, cut flow, feature distributions, timings, lineage): ${r.htmlReportUri}`,
  );
}

export interface RunOptions {
  sample?: SampleInput[];
  config?: string;
  events?: number;
  files: number;
  seed: number;
  mix: string;
  work?: string;
  maxLen: number;
  epochs: number;
  gpu?: boolean;
  emptyIfMissing?: string[];
  allowFailedFiles?: boolean;
  localWorker?: boolean;
  wait: boolean;
  /** Every model (each grid point) trained data-parallel by this many workers of the pool. */
  workers?: number;
  localSteps?: number;
  /** Every model tuned by a study of this method instead of its grid (docs/tuning.md). */
  tune?: 'asha' | 'hyperband' | 'random' | 'grid';
  trials?: number;
}

/** --tune/--trials as each model's study: maxEpochs from --epochs, the kind's default search space. */
function tuneModels(o: RunOptions, models: readonly PipelineModel[]): PipelineModel[] | undefined {
  if (o.trials !== undefined && (o.tune === undefined || o.tune === 'grid'))
    throw new UsageError('--trials needs --tune asha, hyperband or random');
  if (o.tune === undefined || o.tune === 'grid') return undefined;
  if (o.workers !== undefined) throw new UsageError('--tune trains each trial on one worker: drop --workers');
  return models.map(({ grid: _g, ...m }) => ({
    ...m,
    tune: { method: o.tune as 'asha' | 'hyperband' | 'random', trials: o.trials ?? 32, maxEpochs: o.epochs },
  }));
}

/**
 * Starts the pipeline on exactly one input: --sample, --config's samples/generate, or
 * --events (a generated sample). Without one it refuses instead of starting minutes of
 * work on a default sample nobody asked for.
 */
export async function runCommand(o: RunOptions, source: (option: string) => string | undefined): Promise<void> {
  const file = o.config ? await readRunFile(o.config) : {};
  const given = [
    o.sample?.length ? '--sample' : '',
    o.events !== undefined ? '--events' : '',
    file.samples || file.generate ? `${o.config}'s samples/generate` : '',
  ].filter(Boolean);
  if (given.length > 1) throw new UsageError(`give the input once: ${given.join(' and ')} both say what to read`);
  if (given.length === 0) {
    throw new UsageError(
      'what should the pipeline read? --sample name=uri (one per class), --config run.json, or --events N for a generated sample',
    );
  }
  const generatedOnly = ['files', 'seed', 'mix'].filter((k) => source(k) === 'cli');
  if (o.events === undefined && generatedOnly.length > 0) {
    throw new UsageError(
      `${generatedOnly.map((k) => `--${k}`).join(', ')} describe a generated sample: give --events N too`,
    );
  }
  const workflowId = newWorkflowId('pipeline');
  const input = {
    workUri: o.work ?? `s3://${process.env.HEPFLOW_BUCKET ?? 'hepflow'}/runs/${workflowId}`,
    models: standardModels({ maxLen: o.maxLen, epochs: o.epochs, pool: o.gpu ? 'gpu' : 'cpu' }),
    ...file,
    ...(o.work ? { workUri: o.work } : {}),
    ...(o.sample?.length ? { samples: o.sample } : {}),
    ...(o.events !== undefined ? { generate: { events: o.events, files: o.files, seed: o.seed, mix: o.mix } } : {}),
    ...withoutUndefined({ emptyIfMissing: o.emptyIfMissing }),
    ...(o.allowFailedFiles ? { allowFailedFiles: true } : {}),
  } as PipelineInput;
  if (o.localSteps !== undefined && o.workers === undefined) throw new UsageError('--local-steps needs --workers');
  const parallel = withoutUndefined({ workers: o.workers, localSteps: o.localSteps });
  // A malformed models key of a --config file is left to the schema check to name.
  if (o.workers !== undefined && Array.isArray(input.models))
    Object.assign(input, { models: input.models.map((m) => ({ ...m, ...parallel })) });
  const tuned = Array.isArray(input.models) ? tuneModels(o, input.models) : undefined;
  if (tuned) Object.assign(input, { models: tuned });
  checkAtEdge(pipelineInputSchema, input, o.config ?? 'input');
  const r = await runPipeline(input, { localWorker: o.localWorker ?? false, wait: o.wait, workflowId });
  if (r) await printReport(r);
}
