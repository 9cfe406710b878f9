import { parseArgs } from 'node:util';
import { joinUri, storage, normalizeUri } from '../../src/storage/index.js';
import { exportModel } from '../../src/stages/export.js';
import type { LabelSource } from '../../src/input/samples.js';
import { bundleFromFiles, readModelFiles } from '../../src/ml/model-bundle.js';
import { initBackend, parseBackendRequest } from '../../src/ml/backend.js';
import { DEFAULT_BATCHER, ScoringService } from '../../src/serving/scoring-service.js';
import { InferenceHttpServer } from '../../src/serving/http-server.js';
import { KafkaScoringStream } from '../../src/serving/kafka-stream.js';
import { parseSelection, type EfficiencyTable, type Selection } from '../../src/scoring/selection.js';
import type { DelphesEvent } from '../../src/delphes/event.js';
import type { ScoreInput, ScoreResult } from '../../workflows/score.js';
import { csv, positiveInt, UsageError } from '../args.js';
import { newWorkflowId, runWorkflow } from '../temporal-run.js';
import { defaultRegistryUri, ModelRegistry } from '../../src/registry/registry.js';

/** A model URI, or a registry name[@version] resolved in the registry. */
const resolveModel = (ref: string, registryUri?: string): Promise<string> =>
  new ModelRegistry(storage(), registryUri !== undefined ? normalizeUri(registryUri) : defaultRegistryUri()).resolve(ref);

// Using a trained model: export (and, below, scoring, the registry and the service).

const EXPORT_USAGE = 'usage: hepflow export --model <model-uri|name[@version]> --out <uri> [--no-keras] [--registry <uri>]';

export async function exportCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { model: { type: 'string' }, out: { type: 'string' }, 'no-keras': { type: 'boolean' }, registry: { type: 'string' } } });
  if (!values.model || !values.out) throw new UsageError(EXPORT_USAGE);
  const r = await exportModel(storage(), {
    modelUri: await resolveModel(values.model, values.registry), outputUri: normalizeUri(values.out), keras: !values['no-keras'],
  });
  console.log(`exported ${r.files.join(', ')} → ${r.outputUri}`);
}

const SCORE_USAGE = `usage: hepflow score --model <model-uri|name[@version]> --input <uri> --out <uri> [--select <class>>=<threshold>]
                    [--parts] [--registry <uri>] [--labels sidecar|<class>] [--empty-if-missing a,b] [--events-per-call N]
                    [--files-in-flight 8] [--local-worker] [--no-wait]
  --input   a prefix (or one file) of Delphes ROOT files, or with --parts of feature parts (*.parquet)
  --labels  ROOT inputs: the true classes for the efficiency table (feature parts carry theirs)`;

export async function scoreCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, input: { type: 'string' }, out: { type: 'string' }, select: { type: 'string' },
      parts: { type: 'boolean', default: false }, labels: { type: 'string' }, 'empty-if-missing': { type: 'string' },
      'events-per-call': { type: 'string' }, 'files-in-flight': { type: 'string' },
      'local-worker': { type: 'boolean', default: false }, 'no-wait': { type: 'boolean', default: false }, registry: { type: 'string' },
    },
  });
  if (!values.model || !values.input || !values.out) throw new UsageError(SCORE_USAGE);
  // Resolved here, so the workflow (and its history) names the exact model it scored with.
  const modelUri = await resolveModel(values.model, values.registry);
  const { classNames } = (await readModelFiles(storage(), modelUri)).metadata.config;
  let selection: Selection | undefined;
  try {
    selection = values.select !== undefined ? parseSelection(values.select, classNames) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.labels !== undefined && values.labels !== 'sidecar' && !classNames.includes(values.labels)) {
    throw new UsageError(`--labels must be sidecar or one of the model's classes ${classNames.join(', ')}, got '${values.labels}'`);
  }
  // True classes in the model's order, so they line up with its probabilities.
  const labels: LabelSource | undefined = values.labels === undefined ? undefined
    : values.labels === 'sidecar' ? { from: 'sidecar', classes: classNames }
      : { from: 'class', className: values.labels, label: classNames.indexOf(values.labels) };
  const parts = values.parts || values.input.endsWith('.parquet');
  const input: ScoreInput = {
    modelUri,
    inputUri: normalizeUri(values.input),
    outputUri: normalizeUri(values.out),
    suffix: parts ? '.parquet' : '.root',
    filesInFlight: positiveInt('--files-in-flight', values['files-in-flight'], 8),
    ...(values['events-per-call'] ? { eventsPerCall: positiveInt('--events-per-call', values['events-per-call'], 1024) } : {}),
    ...(selection !== undefined ? { selection } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(values['empty-if-missing'] ? { emptyIfMissing: csv(values['empty-if-missing']) as (keyof DelphesEvent)[] } : {}),
  };
  const r = await runWorkflow<ScoreResult>('scoreWorkflow', input, {
    workflowId: newWorkflowId('score'), localWorker: values['local-worker'], wait: !values['no-wait'],
  });
  if (!r) return;
  console.log(`files: ${r.listing.files} (${r.totals.ok} scored, ${r.totals.failed} failed); events read ${r.totals.counters.read ?? 0}, scored ${r.rows}`);
  for (const f of r.failures) console.log(`  FAILED ${f.error}`);
  console.log(`parts: ${joinUri(input.outputUri, 'parts/')}\nmanifest: ${r.manifestUri}`);
  if (r.efficiencyUri !== undefined) {
    const t = await storage().readJson<EfficiencyTable>(r.efficiencyUri);
    console.log(`\nselection ${t.selection.className} >= ${t.selection.threshold}: ${r.totals.counters.accepted ?? 0} events accepted → ${r.acceptedUri}`);
    console.log(`efficiency per true class vs threshold on p(${t.selection.className}):`);
    console.log(`  ${'class'.padEnd(12)} ${'events'.padStart(8)} ${t.thresholds.map((th) => `≥${th}`.padStart(7)).join('')} ${`≥${t.selection.threshold}`.padStart(8)}`);
    for (const c of t.classes) {
      console.log(`  ${c.truth.padEnd(12)} ${String(c.events).padStart(8)} ${c.efficiency.map((e) => e.toFixed(3).padStart(7)).join('')} ${c.atSelection.toFixed(4).padStart(8)}`);
    }
    console.log(`table: ${r.efficiencyUri} (and .csv)`);
  }
}

const MODELS_USAGE = `usage: hepflow models [list] [--registry <uri>]
       hepflow models show <name[@version]> [--registry <uri>]
       hepflow models register --name <name> --model <model-uri> [--dataset <dataset-uri>] [--registry <uri>]`;

export async function modelsCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { registry: { type: 'string' }, name: { type: 'string' }, model: { type: 'string' }, dataset: { type: 'string' } },
  });
  const registry = new ModelRegistry(storage(), values.registry !== undefined ? normalizeUri(values.registry) : defaultRegistryUri());
  const [verb = 'list', ...rest] = positionals;
  if (verb === 'list' && rest.length === 0) {
    const entries = await registry.list();
    if (entries.length === 0) console.log(`no models in ${registry.rootUri}`);
    for (const e of entries) {
      const test = (e.metrics as { test?: { accuracy?: number; auc?: Record<string, number> } }).test;
      const auc = test?.auc ? Object.entries(test.auc).map(([c, v]) => `${c} ${v.toFixed(3)}`).join(' ') : '';
      console.log(`${`${e.name}@${e.version}`.padEnd(24)} ${e.kind.padEnd(17)} classes ${e.classNames.join(',').padEnd(18)} ` +
        `${test?.accuracy !== undefined ? `acc ${test.accuracy.toFixed(3)} ` : ''}${auc ? `AUC ${auc} ` : ''}${e.registeredAt}`);
    }
    return;
  }
  if (verb === 'show' && rest.length === 1) {
    const m = /^([^@]+)(?:@v?(\d+))?$/.exec(rest[0]!);
    if (!m) throw new UsageError(MODELS_USAGE);
    console.log(JSON.stringify(await registry.get(m[1]!, m[2] === undefined ? undefined : Number(m[2])), null, 2));
    return;
  }
  if (verb === 'register' && rest.length === 0 && values.name && values.model) {
    const e = await registry.register({
      name: values.name, modelUri: normalizeUri(values.model), ...(values.dataset ? { datasetUri: normalizeUri(values.dataset) } : {}),
    });
    console.log(`registered ${e.name}@${e.version} → ${e.modelUri}`);
    return;
  }
  throw new UsageError(MODELS_USAGE);
}

const SERVE_USAGE = `usage: hepflow serve --model <model-uri|name[@version]> [--host 127.0.0.1] [--port 8080]
                    [--select <class>>=<threshold>] [--max-batch 256] [--max-delay-ms 2] [--max-queue 8192]
                    [--backend auto|tensorflow|wasm|cpu] [--registry <uri>]
                    [--kafka <host:port,...> [--input-topic events] [--output-topic scores]
                     [--dead-letter-topic events-dead] [--group hepflow-serve]]
  --kafka  also consume events from Kafka and produce scores (bad messages to the dead-letter topic)`;

export async function serveCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' },
      select: { type: 'string' }, 'max-batch': { type: 'string' }, 'max-delay-ms': { type: 'string' }, 'max-queue': { type: 'string' },
      backend: { type: 'string' }, registry: { type: 'string' }, kafka: { type: 'string' },
      'input-topic': { type: 'string', default: 'events' }, 'output-topic': { type: 'string', default: 'scores' },
      'dead-letter-topic': { type: 'string', default: 'events-dead' }, group: { type: 'string', default: 'hepflow-serve' },
    },
  });
  if (!values.model) throw new UsageError(SERVE_USAGE);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${values.port}'`);
  const delay = values['max-delay-ms'] === undefined ? DEFAULT_BATCHER.maxDelayMs : Number(values['max-delay-ms']);
  if (!(delay >= 0)) throw new UsageError(`--max-delay-ms must be >= 0, got '${values['max-delay-ms']}'`);
  const files = await readModelFiles(storage(), await resolveModel(values.model, values.registry));
  let selection: Selection | undefined;
  try {
    selection = values.select !== undefined ? parseSelection(values.select, files.metadata.config.classNames) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const backend = await initBackend(values.backend !== undefined ? parseBackendRequest(values.backend) : files.metadata.config.backend);
  const bundle = await bundleFromFiles(files);
  const service = new ScoringService(bundle, {
    maxBatch: positiveInt('--max-batch', values['max-batch'], DEFAULT_BATCHER.maxBatch),
    maxDelayMs: delay,
    maxQueue: positiveInt('--max-queue', values['max-queue'], DEFAULT_BATCHER.maxQueue),
  }, selection);
  const http = new InferenceHttpServer(service, { host: values.host, port });
  const url = await http.listen();
  console.log(`serving ${bundle.uri} (${bundle.input.kind}, classes ${bundle.classNames.join(',')}, backend ${backend.kind}) on ${url}`);
  const stream = values.kafka === undefined ? undefined : new KafkaScoringStream(service, {
    brokers: csv(values.kafka), inputTopic: values['input-topic'], outputTopic: values['output-topic'],
    deadLetterTopic: values['dead-letter-topic'], groupId: values.group,
  });
  if (stream !== undefined) {
    await stream.start();
    console.log(`streaming ${values['input-topic']} → ${values['output-topic']} (dead letters: ${values['dead-letter-topic']}) on ${values.kafka}`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`${signal}: draining (${service.batcher.queued} events queued)`);
      // The stream's batch in hand is scored and committed before the batcher drains.
      (stream?.stop() ?? Promise.resolve()).then(() => http.drain()).then(resolve, (e) => { console.error(`drain failed: ${(e as Error).message}`); resolve(); });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  console.log(`drained: ${service.batcher.items} events in ${service.batcher.batches} batches` +
    (stream ? `; Kafka: ${stream.scored} scored, ${stream.deadLettered} dead-lettered` : ''));
  bundle.model.dispose();
}
