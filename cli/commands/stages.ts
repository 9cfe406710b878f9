import { parseArgs } from 'node:util';
import { storage, normalizeUri, joinUri } from '../../src/storage/index.js';
import { writeFeatureFile, type LabelSource } from '../../src/stages/features.js';
import { buildDataset } from '../../src/stages/dataset.js';
import { trainRun } from '../../src/stages/train.js';
import { evaluateOnTestSet } from '../../src/stages/evaluate.js';
import { resolveTrainSpec, type TrainSpec } from '../../src/stages/train-spec.js';
import { EVENT_CLASSES, type DelphesEvent, type EventClass } from '../../src/physics/delphes-event.js';
import { parseBackendRequest } from '../../src/ml/backend.js';
import { positiveInt, UsageError } from '../args.js';

// The pipeline's stages one at a time, without Temporal: the same code the activities
// run, for debugging, benchmarking and small jobs.

const FEATURES_USAGE = 'usage: hepflow features <root-file-uri> --out <parquet-uri> [--class qcd|ttbar|wjets] [--empty-if-missing electrons,muons,missingEt]';

export async function featuresCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { out: { type: 'string' }, class: { type: 'string' }, 'empty-if-missing': { type: 'string' } },
  });
  if (positionals.length !== 1 || !values.out) throw new UsageError(FEATURES_USAGE);
  if (values.class !== undefined && !EVENT_CLASSES.includes(values.class as EventClass)) {
    throw new UsageError(`--class must be one of ${EVENT_CLASSES.join(', ')}, got '${values.class}'`);
  }
  const labels: LabelSource = values.class ? { from: 'class', className: values.class as EventClass } : { from: 'sidecar' };
  const uri = normalizeUri(positionals[0]!);
  const info = await storage().head(uri);
  if (!info) throw new UsageError(`no such file: ${uri}`);
  const t0 = performance.now();
  const { rows, cutFlow } = await writeFeatureFile(
    storage(),
    info,
    // The stage validates the collection names.
    { labels, emptyIfMissing: (values['empty-if-missing']?.split(',') ?? []) as (keyof DelphesEvent)[] },
    normalizeUri(values.out),
    (cf) => process.stderr.write(`\r${cf.read} events read, ${cf.withIsolatedLepton} selected`),
  );
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write('\n');
  console.log('cut flow:');
  for (const [k, v] of Object.entries(cutFlow)) console.log(`  ${k.padEnd(20)} ${String(v).padStart(9)}  ${((100 * v) / Math.max(1, cutFlow.read)).toFixed(1)}%`);
  console.log(`${rows} rows → ${normalizeUri(values.out)}`);
  console.log(`${(cutFlow.read / seconds).toFixed(0)} events/s (${seconds.toFixed(2)} s, ${(info.size / 2 ** 20 / seconds).toFixed(1)} MB/s of ROOT input)`);
}

export async function datasetCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { features: { type: 'string' }, out: { type: 'string' }, kind: { type: 'string', default: 'dev' }, 'max-events': { type: 'string' }, seed: { type: 'string' } },
  });
  if (!values.features || !values.out) throw new UsageError('usage: hepflow dataset --features <features-run-uri> --out <uri> [--kind dev|full] [--max-events N] [--seed S]');
  if (values.kind !== 'dev' && values.kind !== 'full') throw new UsageError(`--kind must be dev or full, got '${values.kind}'`);
  const r = await buildDataset(storage(), {
    featuresUri: normalizeUri(values.features),
    outputUri: normalizeUri(values.out),
    kind: values.kind,
    ...(values['max-events'] ? { maxEvents: positiveInt('--max-events', values['max-events'], 0) } : {}),
    ...(values.seed ? { seed: positiveInt('--seed', values.seed, 0) } : {}),
  }, (p) => process.stderr.write(`\rpass ${p.pass}: ${p.rows} rows`));
  process.stderr.write('\n');
  console.log(`${r.kind} dataset from ${r.parts} parts: ${r.perClass} events per class; train ${JSON.stringify(r.counts.train)}, test ${JSON.stringify(r.counts.test)}`);
  console.log(`→ ${r.datasetUri}`);
}

const TRAIN_USAGE = `usage: hepflow train --model hlf|gru|inclusive --data <dataset-uri> --out <uri>
                     [--backend auto|tensorflow|tensorflow-gpu|wasm|cpu] [--epochs N] [--batch B] [--lr X] [--max-len T]`;

export async function trainCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' },
      epochs: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, 'max-len': { type: 'string' },
    },
  });
  if (!values.model || !values.data || !values.out) throw new UsageError(TRAIN_USAGE);
  const lr = values.lr === undefined ? undefined : Number(values.lr);
  if (lr !== undefined && !(lr > 0)) throw new UsageError(`--lr must be a positive number, got '${values.lr}'`);
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
  const config = resolveTrainSpec(spec);
  const out = normalizeUri(values.out);
  const r = await trainRun(
    { runId: values.model, datasetUri: normalizeUri(values.data), outputUri: out, config },
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
  const modelUri = normalizeUri(values.model);
  const r = await evaluateOnTestSet({
    modelUri,
    datasetUri: normalizeUri(values.data),
    outputUri: values.out ? normalizeUri(values.out) : joinUri(modelUri, 'evaluation'),
  });
  console.log(`test set: ${r.samples} events, accuracy ${r.accuracy.toFixed(4)}`);
  for (const [c, auc] of Object.entries(r.auc)) console.log(`  AUC ${c.padEnd(6)} ${auc.toFixed(4)}`);
  console.log(`report ${r.reportUri}\nROC    ${r.plotUri}`);
}
