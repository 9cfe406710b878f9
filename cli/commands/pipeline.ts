import { parseArgs } from 'node:util';
import { storage } from '../../src/storage/index.js';
import type { PipelineInput, PipelineModel } from '../../workflows/pipeline.js';
import type { PipelineReport } from '../../src/stages/report.js';
import { csv, positiveInt, uriArgument, UsageError } from '../args.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';
import { checkAtEdge, parseSampleArgs, readRunFile } from '../samples.js';
import { pipelineInputSchema } from '../../workflows/input-schemas.js';

export const RUN_USAGE = `usage: hepflow run [--sample name=uri[,uri...] ... | --config run.json | --events N --files K [--seed S] [--mix M]]
                   [--work <uri>] [--max-len T] [--epochs E] [--gpu] [--empty-if-missing c,...] [--allow-failed-files]
                   [--local-worker] [--no-wait]
  --sample qcd=s3://data/qcd/ --sample ttbar=... --sample wjets=...   one per class, in label order
  --config run.json    pipelineWorkflow's input as JSON (workUri and models optional); flags override it`;

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
  runWorkflow<PipelineReport & { reportUri: string; htmlReportUri: string }>('pipelineWorkflow', input, o);

export async function printReport(r: { reportUri: string; htmlReportUri: string }): Promise<void> {
  console.log(Buffer.from(await storage().readAll(r.reportUri)).toString('utf8'));
  console.log(`report: ${r.reportUri}\nHTML report (plots, cut flow, feature distributions, timings, lineage): ${r.htmlReportUri}`);
}

export async function runCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      sample: { type: 'string', multiple: true }, config: { type: 'string' },
      work: { type: 'string' }, events: { type: 'string' }, files: { type: 'string' },
      seed: { type: 'string' }, mix: { type: 'string' }, 'max-len': { type: 'string' }, epochs: { type: 'string' },
      'empty-if-missing': { type: 'string' }, 'allow-failed-files': { type: 'boolean', default: false },
      gpu: { type: 'boolean', default: false }, 'local-worker': { type: 'boolean', default: false }, 'no-wait': { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(RUN_USAGE);
  const file = values.config ? await readRunFile(values.config) : {};
  const given = [values.sample?.length ? '--sample' : '', values.events ? '--events' : '', file.samples || file.generate ? `${values.config}'s samples/generate` : '']
    .filter(Boolean);
  if (given.length > 1) throw new UsageError(`give the input once: ${given.join(' and ')} both say what to read`);
  const workflowId = newWorkflowId('pipeline');
  const input = {
    workUri: uriArgument(values.work ?? `s3://${process.env.HEPFLOW_BUCKET ?? 'hepflow'}/runs/${workflowId}`),
    models: standardModels({
      maxLen: positiveInt('--max-len', values['max-len'], 801),
      epochs: positiveInt('--epochs', values.epochs, 5),
      pool: values.gpu ? 'gpu' : 'cpu',
    }),
    ...file,
    ...(values.work ? { workUri: uriArgument(values.work) } : {}),
    ...(values.sample?.length ? { samples: parseSampleArgs(values.sample) } : {}),
    ...(values.events || given.length === 0
      ? {
          generate: {
            events: positiveInt('--events', values.events, 20_000),
            files: positiveInt('--files', values.files, 4),
            seed: positiveInt('--seed', values.seed, 1),
            mix: values.mix ?? 'balanced',
          },
        }
      : {}),
    ...(values['empty-if-missing'] ? { emptyIfMissing: csv(values['empty-if-missing']) } : {}),
    ...(values['allow-failed-files'] ? { allowFailedFiles: true } : {}),
  } as PipelineInput;
  checkAtEdge(pipelineInputSchema, input, values.config ?? 'input');
  const r = await runPipeline(input, { localWorker: values['local-worker'], wait: !values['no-wait'], workflowId });
  if (r) await printReport(r);
}
