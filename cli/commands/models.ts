import { joinUri, storage, normalizeUri } from '../../src/storage/index.js';
import { exportModel } from '../../src/stages/export.js';
import type { LabelSource } from '../../src/contract/samples.js';
import { bundleFromFiles } from '../../src/ml/model-bundle.js';
import { readModelFiles } from '../../src/ml/training/model-dir.js';
import { initBackend, parseBackendRequest } from '../../src/ml/backend.js';
import { DEFAULT_BATCHER, ScoringService } from '../../src/serving/scoring-service.js';
import { InferenceHttpServer } from '../../src/serving/http-server.js';
import { KafkaScoringStream } from '../../src/serving/kafka-stream.js';
import { InferenceGrpcServer } from '../../src/serving/grpc-server.js';
import { OipModel } from '../../src/serving/oip.js';
import { parseSelection, type EfficiencyTable, type Selection } from '../../src/scoring/selection.js';
import type { DelphesEvent } from '../../src/contract/delphes-event.js';
import type { ScoreInput, ScoreResult } from '../../workflows/score.js';
import { UsageError } from '../args.js';
import { failOnFailedFiles } from './ingest.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';
import { defaultRegistryUri, ModelRegistry } from '../../src/registry/registry.js';
import { withoutUndefined } from '../../src/contract/defined.js';
import { installRuntimeSettings, runtimeSettingsFromEnv } from '../../src/runtime-settings.js';

/** A model URI, or a registry name[@version] resolved in the registry. */
const resolveModel = (ref: string, registryUri?: string): Promise<string> =>
  new ModelRegistry(storage(), registryUri !== undefined ? normalizeUri(registryUri) : defaultRegistryUri()).resolve(
    ref,
  );

// Using a trained model: export (and, below, scoring, the registry and the service).

export interface ExportOptions {
  model: string;
  out: string;
  keras: boolean;
  registry?: string;
}

export async function exportCommand(o: ExportOptions): Promise<void> {
  const r = await exportModel(storage(), {
    modelUri: await resolveModel(o.model, o.registry),
    outputUri: o.out,
    keras: o.keras,
  });
  console.log(`exported ${r.files.join(', ')} → ${r.outputUri}`);
}

export interface ScoreOptions {
  model: string;
  input: string;
  out: string;
  select?: string;
  parts?: boolean;
  labels?: string;
  emptyIfMissing?: string[];
  eventsPerCall?: number;
  filesInFlight: number;
  allowFailedFiles?: boolean;
  localWorker?: boolean;
  wait: boolean;
  registry?: string;
}

export async function scoreCommand(o: ScoreOptions): Promise<void> {
  // Resolved here, so the workflow (and its history) names the exact model it scored with.
  const modelUri = await resolveModel(o.model, o.registry);
  const { classNames } = (await readModelFiles(storage(), modelUri)).metadata.config;
  let selection: Selection | undefined;
  try {
    selection = o.select !== undefined ? parseSelection(o.select, classNames) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (o.labels !== undefined && o.labels !== 'sidecar' && !classNames.includes(o.labels)) {
    throw new UsageError(
      `--labels must be sidecar or one of the model's classes ${classNames.join(', ')}, got '${o.labels}'`,
    );
  }
  // True classes in the model's order, so they line up with its probabilities.
  const labels: LabelSource | undefined =
    o.labels === undefined
      ? undefined
      : o.labels === 'sidecar'
        ? { from: 'sidecar', classes: classNames }
        : { from: 'class', className: o.labels, label: classNames.indexOf(o.labels) };
  const parts = o.parts || o.input.endsWith('.parquet');
  const input: ScoreInput = {
    modelUri,
    inputUri: o.input,
    outputUri: o.out,
    suffix: parts ? '.parquet' : '.root',
    filesInFlight: o.filesInFlight,
    ...withoutUndefined({
      eventsPerCall: o.eventsPerCall,
      selection,
      labels,
      emptyIfMissing: o.emptyIfMissing as (keyof DelphesEvent)[] | undefined,
    }),
  };
  const r = await runWorkflow<ScoreResult>('scoreWorkflow', input, {
    workflowId: newWorkflowId('score'),
    localWorker: o.localWorker ?? false,
    wait: o.wait,
  });
  if (!r) return;
  console.log(
    `files: ${r.listing.files} (${r.totals.ok} scored, ${r.totals.failed} failed); events read ${r.totals.counters.read ?? 0}, scored ${r.rows}`,
  );
  for (const f of r.failures) console.log(`  FAILED ${f.error}`);
  console.log(`parts: ${joinUri(input.outputUri, 'parts/')}\nmanifest: ${r.manifestUri}`);
  if (r.efficiencyUri !== undefined) {
    const t = await storage().readJson<EfficiencyTable>(r.efficiencyUri);
    console.log(
      `\nselection ${t.selection.className} >= ${t.selection.threshold}: ${r.totals.counters.accepted ?? 0} events accepted → ${r.acceptedUri}`,
    );
    console.log(`efficiency per true class vs threshold on p(${t.selection.className}):`);
    console.log(
      `  ${'class'.padEnd(12)} ${'events'.padStart(8)} ${t.thresholds.map((th) => `≥${th}`.padStart(7)).join('')} ${`≥${t.selection.threshold}`.padStart(8)}`,
    );
    for (const c of t.classes) {
      console.log(
        `  ${c.truth.padEnd(12)} ${String(c.events).padStart(8)} ${c.efficiency.map((e) => e.toFixed(3).padStart(7)).join('')} ${c.atSelection.toFixed(4).padStart(8)}`,
      );
    }
    console.log(`table: ${r.efficiencyUri} (and .csv)`);
  }
  failOnFailedFiles(r.totals.failed, r.listing.files, o.allowFailedFiles);
}

const registryAt = (uri: string | undefined): ModelRegistry =>
  new ModelRegistry(storage(), uri !== undefined ? normalizeUri(uri) : defaultRegistryUri());

export async function modelsListCommand(o: { registry?: string }): Promise<void> {
  const registry = registryAt(o.registry);
  const entries = await registry.list();
  if (entries.length === 0) console.log(`no models in ${registry.rootUri}`);
  for (const e of entries) {
    const test = (e.metrics as { test?: { accuracy?: number; auc?: Record<string, number> } }).test;
    const auc = test?.auc
      ? Object.entries(test.auc)
          .map(([c, v]) => `${c} ${v.toFixed(3)}`)
          .join(' ')
      : '';
    console.log(
      `${`${e.name}@${e.version}`.padEnd(24)} ${e.kind.padEnd(17)} classes ${e.classNames.join(',').padEnd(18)} ` +
        `${test?.accuracy !== undefined ? `acc ${test.accuracy.toFixed(3)} ` : ''}${auc ? `AUC ${auc} ` : ''}${e.registeredAt}`,
    );
  }
}

export async function modelsShowCommand(ref: string, o: { registry?: string }): Promise<void> {
  const m = /^([^@]+)(?:@v?(\d+))?$/.exec(ref);
  if (!m) throw new UsageError(`expected name or name@version, got '${ref}'`);
  console.log(
    JSON.stringify(await registryAt(o.registry).get(m[1]!, m[2] === undefined ? undefined : Number(m[2])), null, 2),
  );
}

export async function modelsRegisterCommand(o: {
  name: string;
  model: string;
  dataset?: string;
  registry?: string;
}): Promise<void> {
  const e = await registryAt(o.registry).register({
    name: o.name,
    modelUri: o.model,
    ...(o.dataset ? { datasetUri: o.dataset } : {}),
  });
  console.log(`registered ${e.name}@${e.version} → ${e.modelUri}`);
}

export interface ServeOptions {
  model: string;
  host: string;
  port: number;
  select?: string;
  maxBatch?: number;
  maxDelayMs?: number;
  maxQueue?: number;
  backend?: string;
  registry?: string;
  /** The Open Inference Protocol's name for the model (default: its kind). */
  modelName?: string;
  grpcPort?: number;
  kafka?: string[];
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  group: string;
}

export async function serveCommand(o: ServeOptions): Promise<void> {
  // A long-running process: its kernel choices are checked before the model loads.
  installRuntimeSettings(runtimeSettingsFromEnv());
  const files = await readModelFiles(storage(), await resolveModel(o.model, o.registry));
  let selection: Selection | undefined;
  try {
    selection = o.select !== undefined ? parseSelection(o.select, files.metadata.config.classNames) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let request;
  try {
    request = o.backend !== undefined ? parseBackendRequest(o.backend) : files.metadata.config.backend;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const backend = await initBackend(request);
  const bundle = await bundleFromFiles(files);
  const service = new ScoringService(
    bundle,
    {
      maxBatch: o.maxBatch ?? DEFAULT_BATCHER.maxBatch,
      maxDelayMs: o.maxDelayMs ?? DEFAULT_BATCHER.maxDelayMs,
      maxQueue: o.maxQueue ?? DEFAULT_BATCHER.maxQueue,
    },
    selection,
  );
  const oip = new OipModel(service, o.modelName ?? bundle.input.kind);
  const http = new InferenceHttpServer(service, { host: o.host, port: o.port, oip });
  const url = await http.listen();
  console.log(
    `serving ${bundle.uri} (${bundle.input.kind}, classes ${bundle.classNames.join(',')}, backend ${backend.kind}) on ${url}`,
  );
  const grpc = o.grpcPort === undefined ? undefined : new InferenceGrpcServer(oip, { host: o.host, port: o.grpcPort });
  if (grpc !== undefined)
    console.log(`Open Inference Protocol model '${oip.name}' over gRPC on ${await grpc.listen()}`);
  const stream =
    o.kafka === undefined
      ? undefined
      : new KafkaScoringStream(service, {
          brokers: o.kafka,
          inputTopic: o.inputTopic,
          outputTopic: o.outputTopic,
          deadLetterTopic: o.deadLetterTopic,
          groupId: o.group,
        });
  if (stream !== undefined) {
    await stream.start();
    console.log(
      `streaming ${o.inputTopic} → ${o.outputTopic} (dead letters: ${o.deadLetterTopic}) on ${o.kafka!.join(',')}`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`${signal}: draining (${service.batcher.queued} events queued)`);
      // The stream's batch in hand is scored and committed before the batcher drains.
      (stream?.stop() ?? Promise.resolve())
        .then(async () => {
          await Promise.all([http.drain(), grpc?.drain()]);
        })
        .then(resolve, (e) => {
          console.error(`drain failed: ${(e as Error).message}`);
          resolve();
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  console.log(
    `drained: ${service.batcher.items} events in ${service.batcher.batches} batches` +
      (stream ? `; Kafka: ${stream.scored} scored, ${stream.deadLettered} dead-lettered` : ''),
  );
  bundle.model.dispose();
}
