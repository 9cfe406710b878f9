import { parseArgs } from 'node:util';
import { normalizeUri, storage } from '../../src/storage/index.js';
import type { PipelineInput, PipelineModel } from '../../workflows/pipeline.js';
import type { PipelineReport } from '../../src/stages/report.js';
import { positiveInt, UsageError } from '../args.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';

export const RUN_USAGE = `usage: hepflow run [--work <uri>] [--input <uri> | --events N --files K [--seed S] [--mix M]]
                   [--max-len T] [--epochs E] [--gpu] [--local-worker] [--no-wait]`;

/**
 * The models of a standard run: the HLF classifier tuned over a small grid as the paper
 * did, and the two sequence models at the reference architecture.
 */
export function standardModels(o: { maxLen: number; epochs: number; pool: 'cpu' | 'gpu' }): PipelineModel[] {
  const training = { epochs: o.epochs };
  return [
    { name: 'hlf', spec: { kind: 'hlf', training }, grid: { batch: [64, 128], layers: [[50, 20, 10], [150, 50, 10]] }, pool: o.pool },
    { name: 'gru', spec: { kind: 'particle-sequence', model: { maxLen: o.maxLen }, training }, pool: o.pool },
    { name: 'inclusive', spec: { kind: 'inclusive', model: { maxLen: o.maxLen }, training }, pool: o.pool },
  ];
}

export const runPipeline = (input: PipelineInput, o: { localWorker: boolean; wait: boolean; workflowId: string }) =>
  runWorkflow<PipelineReport & { reportUri: string }>('pipelineWorkflow', input, o);

export async function printReport(r: { reportUri: string }): Promise<void> {
  console.log(Buffer.from(await storage().readAll(r.reportUri)).toString('utf8'));
  console.log(`report: ${r.reportUri}`);
}

export async function runCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      work: { type: 'string' }, input: { type: 'string' }, events: { type: 'string' }, files: { type: 'string' },
      seed: { type: 'string' }, mix: { type: 'string' }, 'max-len': { type: 'string' }, epochs: { type: 'string' },
      gpu: { type: 'boolean', default: false }, 'local-worker': { type: 'boolean', default: false }, 'no-wait': { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(RUN_USAGE);
  if (values.input && values.events) throw new UsageError('give either --input (existing files) or --events (a generated sample), not both');
  const workflowId = newWorkflowId('pipeline');
  const input: PipelineInput = {
    workUri: normalizeUri(values.work ?? `s3://${process.env.HEPFLOW_BUCKET ?? 'hepflow'}/runs/${workflowId}`),
    ...(values.input
      ? { inputUri: normalizeUri(values.input) }
      : {
          sample: {
            events: positiveInt('--events', values.events, 20_000),
            files: positiveInt('--files', values.files, 4),
            seed: positiveInt('--seed', values.seed, 1),
            mix: values.mix ?? 'balanced',
          },
        }),
    models: standardModels({
      maxLen: positiveInt('--max-len', values['max-len'], 801),
      epochs: positiveInt('--epochs', values.epochs, 5),
      pool: values.gpu ? 'gpu' : 'cpu',
    }),
  };
  const r = await runPipeline(input, { localWorker: values['local-worker'], wait: !values['no-wait'], workflowId });
  if (r) await printReport(r);
}
