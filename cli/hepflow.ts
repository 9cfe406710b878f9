#!/usr/bin/env node
import '../src/process-warnings.js';
import { applyLocalStackDefaults } from './local-stack-env.js';
import { UsageError } from './args.js';

const USAGE = `hepflow: CERN's topology-classification pipeline as Temporal workflows

  hepflow stack up [--kafka]|down|status|env
                                       the local Temporal dev server + S3 server (+ Kafka broker)
  hepflow worker cpu|gpu [--max-activities N] [--task-queue Q]
  hepflow generate --events N --files K --out <uri> [--seed S] [--mix ...]
                                       write a synthetic Delphes sample (no Temporal needed)
  hepflow ingest <input-uri> [...]     read every ROOT file under a prefix (ingestWorkflow)
  hepflow run --sample qcd=<uri> --sample ttbar=<uri> ...  (or --config run.json)
                                       the whole pipeline (pipelineWorkflow) on your samples, one
                                       per class: features, dataset, grid search per model,
                                       evaluation, report (without samples: a generated one)
  hepflow demo                         the quick start's end-to-end run
  hepflow status <run> [--watch]       a run's progress: stage, files, grid points, epoch/batch, ETA

One stage at a time, without Temporal (the same code the activities run):
  hepflow features --sample qcd=<uri> --sample ttbar=<uri> ... --out <dir-uri>
  hepflow dataset --features <dir-uri> --out <uri> [--kind dev|full]
  hepflow train --model hlf|gru|inclusive --data <dataset-uri> --out <uri> [--backend B] [--workers N]
  hepflow evaluate --model <model-uri> --data <dataset-uri>

Using a trained model (<model> is a model URI or a registry name[@version]):
  hepflow models [list|show <name>|register --name N --model <uri>]
                                       the model registry (HEPFLOW_REGISTRY_URI, default s3://<bucket>/registry)
  hepflow export --model <model> --out <uri> [--no-keras]
                                       model.json with Keras' standard GRU, model.keras, scalers
  hepflow score --model <model> --input <uri> --out <uri> [--select class>=p] [--parts]
                                       per-event class probabilities (scoreWorkflow)
  hepflow serve --model <model> [--port 8080] [--select class>=p] [--kafka <brokers> ...]
                                       real-time inference: HTTP endpoint, Kafka stream

URIs are s3://bucket/key, file:///path or local paths; inputs may also be http(s):// URLs (read-only).
Run a command without arguments for its options. --verbose (any command, or HEPFLOW_VERBOSE=1)
also prints the compute backend and GRU kernel chosen and library notices.`;

// Each command's module is imported when it runs: loading them all (TensorFlow.js, the
// Temporal client and its protobufs, the AWS SDK) took ~2 s before any command started.
async function main(args: string[]): Promise<void> {
  applyLocalStackDefaults();
  // Global, so each command's own options stay as they are; the variable reaches workers and threads.
  if (args.includes('--verbose')) process.env.HEPFLOW_VERBOSE = '1';
  const [command, ...rest] = args.filter((a) => a !== '--verbose');
  switch (command) {
    case 'stack':
      return (await import('./commands/stack.js')).stackCommand(rest);
    case 'worker':
      if (rest[0] !== 'cpu' && rest[0] !== 'gpu') throw new UsageError('usage: hepflow worker cpu|gpu [options]');
      return (await import('../workers/main.js')).runPoolWorker(rest[0], rest.slice(1));
    case 'ingest':
      return (await import('./commands/ingest.js')).ingestCommand(rest);
    case 'generate':
      return (await import('./commands/generate.js')).generateCommand(rest);
    case 'features':
      return (await import('./commands/stages.js')).featuresCommand(rest);
    case 'dataset':
      return (await import('./commands/stages.js')).datasetCommand(rest);
    case 'train':
      return (await import('./commands/stages.js')).trainCommand(rest);
    case 'evaluate':
      return (await import('./commands/stages.js')).evaluateCommand(rest);
    case 'serve':
      return (await import('./commands/models.js')).serveCommand(rest);
    case 'models':
      return (await import('./commands/models.js')).modelsCommand(rest);
    case 'score':
      return (await import('./commands/models.js')).scoreCommand(rest);
    case 'export':
      return (await import('./commands/models.js')).exportCommand(rest);
    case 'run':
      return (await import('./commands/pipeline.js')).runCommand(rest);
    case 'demo':
      return (await import('./commands/demo.js')).demoCommand();
    case 'status': {
      const ids = rest.filter((a) => a !== '--watch');
      if (ids.length !== 1 || ids[0]!.startsWith('-')) throw new UsageError('usage: hepflow status <run> [--watch]');
      return (await import('./commands/status.js')).statusCommand(ids[0]!, { watch: rest.includes('--watch') });
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || String((err as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS_')) {
    console.error((err as Error).message);
    process.exit(2);
  }
  console.error(`hepflow: ${(err as Error)?.message ?? err}`);
  if (process.env.HEPFLOW_DEBUG) console.error(err);
  process.exit(1);
});
