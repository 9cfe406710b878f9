import { parseArgs } from 'node:util';
import { storage, joinUri, baseName } from '../../src/storage/index.js';
import { runFeaturesLocally, type LocalFeaturesInput } from '../../src/stages/features-run.js';
import { resolveSamples } from '../../src/input/samples.js';
import { featuresInputSchema } from '../../workflows/input-schemas.js';
import { checkAtEdge, parseSampleArgs, readRunFile } from '../samples.js';
import type { TrainSpec } from '../../src/stages/train-spec.js';
import { csv, positiveInt, uriArgument, UsageError } from '../args.js';
import type { DistributedTrainInput } from '../../workflows/distributed-train.js';
import type { DistributedTrainResult } from '../../src/ml/distributed/jobs.js';

// The pipeline's stages one at a time, without Temporal: the same code the activities
// run, for debugging, benchmarking and small jobs. The dataset, training and evaluation
// code is imported when its command runs, so that `hepflow features` does not spend
// seconds loading TensorFlow.js.

const FEATURES_USAGE = `usage: hepflow features (--sample name=uri[,uri...] ... | --config samples.json) --out <dir-uri>
                        [--empty-if-missing electrons,muons,missingEt] [--allow-failed-files]
  writes <dir>/parts/*.parquet and <dir>/manifest.json, the layout featuresWorkflow writes:
  \`hepflow dataset --features <dir>\` builds on it`;

export async function featuresCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: false,
    options: {
      sample: { type: 'string', multiple: true }, config: { type: 'string' }, out: { type: 'string' },
      'empty-if-missing': { type: 'string' }, 'allow-failed-files': { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0 || !values.out || !values.sample?.length === !values.config) throw new UsageError(FEATURES_USAGE);
  const outputUri = uriArgument(values.out);
  const input = {
    ...(values.config ? await readRunFile(values.config) : {}),
    ...(values.sample?.length ? { samples: parseSampleArgs(values.sample) } : {}),
    outputUri,
    ...(values['empty-if-missing'] ? { emptyIfMissing: csv(values['empty-if-missing']) } : {}),
    ...(values['allow-failed-files'] ? { allowFailedFiles: true } : {}),
  } as LocalFeaturesInput;
  checkAtEdge(featuresInputSchema, input, values.config ?? 'input');
  try {
    resolveSamples(input.samples);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const t0 = performance.now();
  const r = await runFeaturesLocally(storage(), input, (file, cf) => {
    if (cf) process.stderr.write(`\r${baseName(file)}: ${cf.read} events read, ${cf.withIsolatedLepton} selected`);
    else process.stderr.write('\n');
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`classes (label order): ${r.classes.join(', ')}`);
  console.log(`${'sample'.padEnd(16)} ${'files'.padStart(5)} ${'failed'.padStart(6)} ${'read'.padStart(9)} ${'selected'.padStart(9)}`);
  input.samples.forEach((s, i) => {
    const t = r.perSample[i];
    console.log(`${s.name.padEnd(16)} ${String((t?.ok ?? 0) + (t?.failed ?? 0)).padStart(5)} ${String(t?.failed ?? 0).padStart(6)} ` +
      `${String(t?.counters.read ?? 0).padStart(9)} ${String(t?.counters.rows ?? 0).padStart(9)}`);
  });
  console.log(`manifest → ${r.manifestUri} (${seconds.toFixed(1)} s)`);
  if (r.problem) throw new Error(r.problem.message);
}

export async function datasetCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { features: { type: 'string' }, out: { type: 'string' }, kind: { type: 'string', default: 'dev' }, 'max-events': { type: 'string' }, seed: { type: 'string' } },
  });
  if (!values.features || !values.out) throw new UsageError('usage: hepflow dataset --features <what hepflow features or featuresWorkflow wrote> --out <uri> [--kind dev|full] [--max-events N] [--seed S]');
  if (values.kind !== 'dev' && values.kind !== 'full') throw new UsageError(`--kind must be dev or full, got '${values.kind}'`);
  const { buildDataset } = await import('../../src/stages/dataset.js');
  const r = await buildDataset(storage(), {
    featuresUri: uriArgument(values.features),
    outputUri: uriArgument(values.out),
    kind: values.kind,
    ...(values['max-events'] ? { maxEvents: positiveInt('--max-events', values['max-events'], 0) } : {}),
    ...(values.seed ? { seed: positiveInt('--seed', values.seed, 0) } : {}),
  }, (p) => process.stderr.write(`\rpass ${p.pass}: ${p.rows} rows`));
  process.stderr.write('\n');
  console.log(`${r.kind} dataset of ${r.classes.join(', ')} from ${r.parts} parts: ${r.perClass} events per class; train ${JSON.stringify(r.counts.train)}, test ${JSON.stringify(r.counts.test)}`);
  console.log(`→ ${r.datasetUri}`);
}

const TRAIN_USAGE = `usage: hepflow train --model hlf|gru|inclusive --data <dataset-uri> --out <uri>
                     [--backend auto|tensorflow|tensorflow-gpu|wasm|cpu] [--epochs N] [--batch B] [--lr X] [--max-len T]
                     [--workers N [--local-steps K] [--gpu] [--no-wait]]   (N workers: data-parallel on the running pool)`;

export async function trainCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' },
      epochs: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, 'max-len': { type: 'string' },
      workers: { type: 'string' }, 'local-steps': { type: 'string' }, gpu: { type: 'boolean', default: false }, 'no-wait': { type: 'boolean', default: false },
    },
  });
  if (!values.model || !values.data || !values.out) throw new UsageError(TRAIN_USAGE);
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) throw new UsageError(`--lr must be a positive number, got '${values.lr}'`);
  const { parseBackendRequest } = await import('../../src/ml/backend.js');
  const { resolveTrainSpec } = await import('../../src/stages/train-spec.js');
  const { trainRun } = await import('../../src/stages/train.js');
  const { datasetClasses } = await import('../../src/dataset/classes.js');
  let backend;
  try {
    backend = values.backend ? parseBackendRequest(values.backend) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const spec: TrainSpec = {
    kind: values.model as TrainSpec['kind'],
    model: { ...(lr ? { learningRate: lr } : {}), ...(values['max-len'] ? { maxLen: positiveInt('--max-len', values['max-len'], 0) } : {}) },
    training: {
      ...(values.epochs ? { epochs: positiveInt('--epochs', values.epochs, 0) } : {}),
      ...(values.batch ? { batchSize: positiveInt('--batch', values.batch, 0) } : {}),
      ...(backend ? { backend } : {}),
    },
  };
  const datasetUri = uriArgument(values.data);
  const config = resolveTrainSpec(spec, await datasetClasses(datasetUri));
  const out = uriArgument(values.out);
  if (values.workers !== undefined) {
    const input: DistributedTrainInput = {
      runId: values.model, datasetUri, outputUri: out, config,
      workers: positiveInt('--workers', values.workers, 0), pool: values.gpu ? 'gpu' : 'cpu',
      ...(values['local-steps'] ? { localSteps: positiveInt('--local-steps', values['local-steps'], 0) } : {}),
    };
    const { newWorkflowId, runWorkflow } = await import('../temporal-run.js');
    const d = await runWorkflow<DistributedTrainResult>('distributedTrainWorkflow', input, {
      workflowId: newWorkflowId('train'), localWorker: false, wait: !values['no-wait'],
    });
    if (d === undefined) return;
    const share = d.totals.exchangeSeconds + d.totals.aggregateSeconds;
    console.log(`${d.epochsCompleted} epochs in ${d.totals.rounds} rounds (workers per round ${d.workersPerRound.map(([w, n]) => `${w}×${n}`).join(', ')}), ` +
      `${d.samplesPerSecond.toFixed(0)} samples/s; parameter exchange + aggregation ${share.toFixed(1)} s vs training ${d.totals.computeSeconds.toFixed(1)} s`);
    console.log(`validation: ${Object.entries(d.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
    console.log(`model → ${d.modelUri}`);
    return;
  }
  const r = await trainRun(
    { runId: values.model, datasetUri, outputUri: out, config },
    {
      onProgress: (p) => process.stderr.write(`\repoch ${p.epoch + 1}/${p.epochs} batch ${p.batch} loss ${p.loss.toFixed(4)} ${p.samplesPerSecond.toFixed(0)} samples/s`),
      log: (m) => process.stderr.write(`\n${m}\n`),
    },
  );
  process.stderr.write('\n');
  console.log(`backend ${r.backend}; ${r.epochsCompleted} epochs${r.resumedFromEpoch > 0 ? ` (resumed after ${r.resumedFromEpoch} epochs done before)` : ''} in ${r.trainSeconds.toFixed(1)} s, ${r.samplesPerSecond.toFixed(0)} samples/s`);
  console.log(`validation: ${Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
  console.log(`model → ${r.modelUri}`);
}

export async function evaluateCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' } } });
  if (!values.model || !values.data) throw new UsageError('usage: hepflow evaluate --model <model-uri> --data <dataset-uri> [--out <uri>]');
  const { evaluateOnTestSet } = await import('../../src/stages/evaluate.js');
  const modelUri = uriArgument(values.model);
  const r = await evaluateOnTestSet({
    modelUri,
    datasetUri: uriArgument(values.data),
    outputUri: values.out ? uriArgument(values.out) : joinUri(modelUri, 'evaluation'),
  });
  console.log(`test set: ${r.samples} events, accuracy ${r.accuracy.toFixed(4)}`);
  for (const [c, auc] of Object.entries(r.auc)) console.log(`  AUC ${c.padEnd(12)} ${auc.toFixed(4)}`);
  console.log(`report ${r.reportUri}\nROC    ${r.plotUri}`);
}
