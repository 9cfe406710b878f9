import { storage, joinUri, baseName } from '../../src/storage/index.js';
import { runFeaturesLocally, type LocalFeaturesInput } from '../../src/stages/features-run.js';
import { resolveSamples } from '../../src/contract/samples.js';
import { featuresInputSchema } from '../../workflows/input-schemas.js';
import { checkAtEdge, readRunFile } from '../run-file.js';
import type { TrainSpec } from '../../src/stages/train-spec.js';
import { UsageError } from '../args.js';
import { StatusLine } from '../progress.js';
import type { SampleInput } from '../../src/contract/samples.js';
import type { DistributedTrainInput } from '../../workflows/distributed-train.js';
import type { DistributedTrainResult } from '../../src/contract/distributed-rounds.js';
import { withoutUndefined } from '../../src/contract/defined.js';

// The pipeline's stages one at a time, without Temporal: the same code the activities
// run, for debugging, benchmarking and small jobs. The dataset, training and evaluation
// code is imported when its command runs, so that `hepflow features` does not spend
// seconds loading TensorFlow.js.

export interface FeaturesOptions {
  sample?: SampleInput[];
  config?: string;
  out: string;
  emptyIfMissing?: string[];
  allowFailedFiles?: boolean;
}

export async function featuresCommand(o: FeaturesOptions): Promise<void> {
  if (!o.sample?.length === !o.config)
    throw new UsageError('give the samples once: --sample name=uri (one per class) or --config samples.json');
  const input = {
    ...(o.config ? await readRunFile(o.config) : {}),
    ...(o.sample?.length ? { samples: o.sample } : {}),
    outputUri: o.out,
    ...withoutUndefined({ emptyIfMissing: o.emptyIfMissing }),
    ...(o.allowFailedFiles ? { allowFailedFiles: true } : {}),
  } as LocalFeaturesInput;
  checkAtEdge(featuresInputSchema, input, o.config ?? 'input');
  try {
    resolveSamples(input.samples, 'samples', 1);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const t0 = performance.now();
  const status = new StatusLine();
  const r = await runFeaturesLocally(storage(), input, (file, cf) => {
    if (cf) status.update(file, `${baseName(file)}: ${cf.read} events read, ${cf.withIsolatedLepton} selected`);
    else status.end();
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`classes (label order): ${r.classes.join(', ')}`);
  console.log(
    `${'sample'.padEnd(16)} ${'files'.padStart(5)} ${'failed'.padStart(6)} ${'read'.padStart(9)} ${'selected'.padStart(9)}`,
  );
  input.samples.forEach((s, i) => {
    const t = r.perSample[i];
    console.log(
      `${s.name.padEnd(16)} ${String((t?.ok ?? 0) + (t?.failed ?? 0)).padStart(5)} ${String(t?.failed ?? 0).padStart(6)} ` +
        `${String(t?.counters.read ?? 0).padStart(9)} ${String(t?.counters.rows ?? 0).padStart(9)}`,
    );
  });
  console.log(`manifest → ${r.manifestUri} (${seconds.toFixed(1)} s)`);
  if (r.problem) throw new Error(r.problem.message);
}

export interface DatasetOptions {
  features: string;
  out: string;
  kind: 'dev' | 'full';
  maxEvents?: number;
  seed?: number;
}

export async function datasetCommand(o: DatasetOptions): Promise<void> {
  const { buildDataset } = await import('../../src/stages/dataset.js');
  const status = new StatusLine();
  const r = await buildDataset(
    storage(),
    {
      featuresUri: o.features,
      outputUri: o.out,
      kind: o.kind,
      ...withoutUndefined({ maxEvents: o.maxEvents, seed: o.seed }),
    },
    (p) => status.update(`pass ${p.pass}`, `pass ${p.pass}: ${p.rows} rows`),
  );
  status.end();
  console.log(
    `${r.kind} dataset of ${r.classes.join(', ')} from ${r.parts} parts: ${r.perClass} events per class; train ${JSON.stringify(r.counts.train)}, test ${JSON.stringify(r.counts.test)}`,
  );
  console.log(`→ ${r.datasetUri}`);
}

export interface TrainOptions {
  model: 'hlf' | 'gru' | 'particle-sequence' | 'inclusive';
  data: string;
  out: string;
  backend?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  maxLen?: number;
  workers?: number;
  localSteps?: number;
  gpu?: boolean;
  wait: boolean;
}

export async function trainCommand(o: TrainOptions): Promise<void> {
  const { parseBackendRequest } = await import('../../src/ml/backend.js');
  const { resolveTrainSpec } = await import('../../src/stages/train-spec.js');
  const { trainRun } = await import('../../src/stages/train.js');
  const { datasetClasses } = await import('../../src/dataset/classes.js');
  let backend;
  try {
    backend = o.backend ? parseBackendRequest(o.backend) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const spec: TrainSpec = {
    kind: o.model,
    model: withoutUndefined({ learningRate: o.lr, maxLen: o.maxLen }),
    training: {
      ...withoutUndefined({ epochs: o.epochs, batchSize: o.batch }),
      ...(backend ? { backend } : {}),
    },
  };
  const datasetUri = o.data;
  const config = resolveTrainSpec(spec, await datasetClasses(datasetUri));
  const out = o.out;
  if (o.workers !== undefined) {
    const input: DistributedTrainInput = {
      runId: o.model,
      datasetUri,
      outputUri: out,
      config,
      workers: o.workers,
      pool: o.gpu ? 'gpu' : 'cpu',
      ...withoutUndefined({ localSteps: o.localSteps }),
    };
    const { newWorkflowId, runWorkflow } = await import('../temporal-run.js');
    const d = await runWorkflow<DistributedTrainResult>('distributedTrainWorkflow', input, {
      workflowId: newWorkflowId('train'),
      localWorker: false,
      wait: o.wait,
    });
    if (d === undefined) return;
    const share = d.totals.exchangeSeconds + d.totals.aggregateSeconds;
    console.log(
      `${d.epochsCompleted} epochs in ${d.totals.rounds} rounds (workers per round ${d.workersPerRound.map(([w, n]) => `${w}×${n}`).join(', ')}), ` +
        `${d.samplesPerSecond.toFixed(0)} samples/s; parameter exchange + aggregation ${share.toFixed(1)} s vs training ${d.totals.computeSeconds.toFixed(1)} s`,
    );
    console.log(
      `validation: ${Object.entries(d.metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(', ')}`,
    );
    console.log(`model → ${d.modelUri}`);
    return;
  }
  const status = new StatusLine();
  const r = await trainRun(
    { runId: o.model, datasetUri, outputUri: out, config },
    {
      store: storage(),
      onProgress: (p) =>
        status.update(
          `epoch ${p.epoch}`,
          `epoch ${p.epoch + 1}/${p.epochs} batch ${p.batch} loss ${p.loss.toFixed(4)} ${p.samplesPerSecond.toFixed(0)} samples/s`,
        ),
      log: (m) => status.log(m),
    },
  );
  status.end();
  console.log(
    `backend ${r.backend}; ${r.epochsCompleted} epochs${r.resumedFromEpoch > 0 ? ` (resumed after ${r.resumedFromEpoch} epochs done before)` : ''} in ${r.trainSeconds.toFixed(1)} s, ${r.samplesPerSecond.toFixed(0)} samples/s`,
  );
  console.log(
    `validation: ${Object.entries(r.metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(', ')}`,
  );
  console.log(`model → ${r.modelUri}`);
}

export interface EvaluateOptions {
  model: string;
  data: string;
  out?: string;
}

export async function evaluateCommand(o: EvaluateOptions): Promise<void> {
  const { evaluateOnTestSet } = await import('../../src/stages/evaluate.js');
  const r = await evaluateOnTestSet(
    {
      modelUri: o.model,
      datasetUri: o.data,
      outputUri: o.out ?? joinUri(o.model, 'evaluation'),
    },
    storage(),
  );
  console.log(`test set: ${r.samples} events, accuracy ${r.accuracy.toFixed(4)}`);
  for (const [c, auc] of Object.entries(r.auc)) console.log(`  AUC ${c.padEnd(12)} ${auc.toFixed(4)}`);
  console.log(`report ${r.reportUri}\nROC    ${r.plotUri}`);
}
