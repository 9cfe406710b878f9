import { Argument, Command, Option } from 'commander';
import { packageVersion } from '../src/paths.js';
import {
  csv,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
  sampleArgument,
  listenPort,
  uriArgument,
} from './args.js';
import type { GenerateOptions } from './commands/generate.js';
import type { IngestOptions } from './commands/ingest.js';
import type { RunOptions } from './commands/pipeline.js';
import type { DatasetOptions, EvaluateOptions, FeaturesOptions, TrainOptions } from './commands/stages.js';
import type { ExportOptions, ScoreOptions, ServeOptions } from './commands/models.js';
import type { RunsOptions } from './commands/runs.js';
import type { LsOptions } from './commands/objects.js';

// Every command and option is declared here, so `--help` at any level is generated from
// the same definitions the parser checks, without loading any command's module: each
// action imports its module when it runs (TensorFlow.js, the Temporal client and the AWS
// SDK together took ~2 s to load). Registering a command is one `.command(...)` entry.

const FOOTER = `
URIs are s3://bucket/key, file:///path or local paths; inputs may also be http(s):// URLs (read-only).
Exit codes: 0 success, 1 failure, 2 usage error. 'hepflow <command> --help' for a command's options.`;

/** --local-worker / --no-wait, shared by the commands that start a workflow. */
const workflowOptions = (c: Command): Command =>
  c
    .option('--local-worker', 'host a CPU worker in this process while waiting (no separate `hepflow worker cpu`)')
    .option('--no-wait', 'return once the workflow has started');

const registryOption = (c: Command): Command =>
  c.option('--registry <uri>', 'the model registry (default HEPFLOW_REGISTRY_URI, else s3://<bucket>/registry)');

const sampleOption = () =>
  new Option(
    '--sample <name=uri[,uri...]>',
    'one class (name) read from directories/files; repeat once per class, in label order',
  ).argParser(sampleArgument);

export function buildProgram(): Command {
  const program = new Command('hepflow')
    .description("CERN's topology-classification pipeline as Temporal workflows")
    .version(packageVersion(), '-V, --version')
    .option(
      '--verbose',
      'also print the compute backend and GRU kernel chosen and library notices (or HEPFLOW_VERBOSE=1)',
    )
    .addHelpText('after', FOOTER)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .hook('preAction', (cmd) => {
      // Global, so each command's own options stay as they are; the variable reaches workers and threads.
      if (cmd.optsWithGlobals().verbose) process.env.HEPFLOW_VERBOSE = '1';
    });

  program.commandsGroup('The pipeline on Temporal:');
  addStackAndWorkerCommands(program);
  addPipelineCommands(program);
  program.commandsGroup('Following runs:');
  addRunCommands(program);
  program.commandsGroup('Object storage:');
  addObjectCommands(program);
  program.commandsGroup('One stage at a time, without Temporal (the same code the activities run):');
  addStageCommands(program);
  program.commandsGroup('Using a trained model (<model> is a model URI or a registry name[@version]):');
  addModelCommands(program);
  return program;
}

/** The local stack, the worker pools and their versions. */
function addStackAndWorkerCommands(program: Command): void {
  const stack = program.command('stack').description('the local Temporal dev server + S3 server (+ Kafka broker)');
  stack
    .command('up')
    .description('start the local stack (idempotent, health-checked)')
    .option('--kafka', 'also a Kafka broker')
    .action(async (o: { kafka?: boolean }) => (await import('./commands/stack.js')).stackUpCommand(o));
  stack
    .command('down')
    .description('stop it (data stays)')
    .action(async () => (await import('./commands/stack.js')).stackDownCommand());
  stack
    .command('status')
    .description('health of each server (exit 1 when one is unhealthy)')
    .action(async () => (await import('./commands/stack.js')).stackStatusCommand());
  stack
    .command('env')
    .description('the environment the CLI, the `temporal` CLI and clients need: eval "$(npx hepflow stack env)"')
    .action(async () => (await import('./commands/stack.js')).stackEnvCommand());

  program
    .command('worker')
    .description('run a worker pool until SIGINT/SIGTERM')
    .addArgument(new Argument('<pool>', 'cpu or gpu').choices(['cpu', 'gpu']))
    .option('--task-queue <queue>', 'task queue (default hepflow-<pool>, or HEPFLOW_<POOL>_TASK_QUEUE)')
    .option('--max-activities <n>', 'concurrent activities (default: cores for cpu, 1 for gpu)', positiveInteger)
    .option('--max-workflow-tasks <n>', 'concurrent workflow tasks (default 20)', positiveInteger)
    .action(
      async (pool: 'cpu' | 'gpu', o: { taskQueue?: string; maxActivities?: number; maxWorkflowTasks?: number }) => {
        // The pool's own parser (shared with the standalone worker scripts) reads the same flags.
        const argv = [
          ...(o.taskQueue !== undefined ? ['--task-queue', o.taskQueue] : []),
          ...(o.maxActivities !== undefined ? ['--max-activities', String(o.maxActivities)] : []),
          ...(o.maxWorkflowTasks !== undefined ? ['--max-workflow-tasks', String(o.maxWorkflowTasks)] : []),
        ];
        return (await import('../workers/main.js')).runPoolWorker(pool, argv);
      },
    );

  const workers = program
    .command('workers')
    .description('versioned worker pools (HEPFLOW_WORKER_VERSIONING=1): versions, promotion, drainage');
  workers
    .command('status')
    .description("the Worker Deployment's current version and each version's drainage (HEPFLOW_DEPLOYMENT_NAME)")
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }) => (await import('./commands/workers.js')).workersStatusCommand(o));
  workers
    .command('promote')
    .description('make a build current: new runs start on it, pinned runs finish on theirs (also: roll back)')
    .argument('[build-id]', "the version's build id (default: this checkout's, see 'hepflow workers build-id')")
    .option(
      '--ignore-missing-task-queues',
      "promote even if the build's workers poll fewer task queues than the current one's",
    )
    .action(async (buildId: string | undefined, o: { ignoreMissingTaskQueues?: boolean }) =>
      (await import('./commands/workers.js')).workersPromoteCommand(buildId, o),
    );
  workers
    .command('build-id')
    .description(
      "the build id this checkout's CPU workers poll with (HEPFLOW_BUILD_ID, else version + workflow-code hash)",
    )
    .action(async () => (await import('./commands/workers.js')).workersBuildIdCommand());
}

/** Generating a sample, ingesting ROOT files and running the whole pipeline. */
function addPipelineCommands(program: Command): void {
  program
    .command('generate')
    .description('write a synthetic Delphes sample (no Temporal needed)')
    .requiredOption('--events <n>', 'events in all (required)', positiveInteger)
    .option('--files <k>', 'files to spread them over', positiveInteger, 1)
    .requiredOption('--out <uri>', 'output directory (required)', uriArgument)
    .option('--seed <s>', 'random seed', nonNegativeInteger, 0)
    .option('--mix <mix>', 'trigger, balanced, or class=fraction,... (e.g. wjets=0.6,qcd=0.4)', 'trigger')
    .option('--pileup <mu>', 'mean pile-up interactions per event', nonNegativeNumber)
    .action(async (o: GenerateOptions) => (await import('./commands/generate.js')).generateCommand(o));

  workflowOptions(
    program
      .command('ingest')
      .description('read every ROOT file under a prefix (ingestWorkflow); prints per-file summaries')
      .argument('<input-uri>', 'a prefix (directory) of ROOT files', uriArgument)
      .option('--out <uri>', 'where the manifest goes (default s3://<bucket>/runs/ingest-<time>)', uriArgument)
      .option('--tree <name>', "the tree to read (default: each file's first TTree)")
      .option('--branches <a,b>', 'branches to read through: count, sum and mean of each are printed', csv)
      .option('--batch-size <n>', 'files per batch activity', positiveInteger, 100)
      .option('--files-in-flight <n>', 'files read at once', positiveInteger, 8)
      .option('--allow-failed-files', 'exit 0 even when some files failed'),
  ).action(async (input: string, o: IngestOptions) => (await import('./commands/ingest.js')).ingestCommand(input, o));

  workflowOptions(
    program
      .command('run')
      .description(
        'the whole pipeline (pipelineWorkflow): features, dataset, grid search per model, evaluation, report',
      )
      .addOption(sampleOption())
      .option(
        '--config <file>',
        "a JSON file of pipelineWorkflow's input (workUri and models optional); flags override it",
      )
      .option('--events <n>', 'run on a generated sample of N events instead of --sample/--config', positiveInteger)
      .option('--files <k>', 'generated sample: files', positiveInteger, 4)
      .option('--seed <s>', 'generated sample: random seed', nonNegativeInteger, 1)
      .option('--mix <mix>', 'generated sample: class mix', 'balanced')
      .option('--work <uri>', 'where everything is written (default s3://<bucket>/runs/<workflow id>)', uriArgument)
      .option('--max-len <t>', 'particles per event of the sequence models', positiveInteger, 801)
      .option('--epochs <e>', 'training epochs', positiveInteger, 5)
      .option('--gpu', 'train on the GPU pool')
      .option(
        '--workers <n>',
        'every model (each grid point) trained data-parallel by N workers of the pool',
        positiveInteger,
      )
      .option('--local-steps <k>', 'with --workers: steps per worker between synchronisations', positiveInteger)
      .addOption(
        new Option(
          '--tune <method>',
          'tune every model: asha, hyperband or random search (docs/tuning.md); grid: the grid',
        ).choices(['asha', 'hyperband', 'random', 'grid']),
      )
      .option('--trials <n>', 'with --tune: trials per model', positiveInteger)
      .option(
        '--empty-if-missing <collections>',
        'collections to treat as empty when a file lacks them (electrons,muons,missingEt)',
        csv,
      )
      .option('--allow-failed-files', 'go on without files that cannot be read (the report says so)'),
  )
    .addHelpText(
      'after',
      `
One input, exactly: --sample (one per class), --config, or --events (a generated sample). Examples:
  hepflow run --local-worker --sample qcd=/data/qcd/ --sample ttbar=/data/ttbar/ --sample wjets=/data/wjets/
  hepflow run --local-worker --events 20000 --max-len 100 --epochs 2`,
    )
    .action(async (o: RunOptions, cmd: Command) =>
      (await import('./commands/pipeline.js')).runCommand(o, cmd.getOptionValueSource.bind(cmd)),
    );

  program
    .command('demo')
    .description("the quick start's end-to-end run: starts the stack, ingests the test files, runs the pipeline")
    .action(async () => (await import('./commands/demo.js')).demoCommand());
}

/** Listing, following and cancelling workflow runs. */
function addRunCommands(program: Command): void {
  program
    .command('runs')
    .description('recent workflow runs: status, start time, stage, model, best AUC')
    .option('--limit <n>', 'at most this many', positiveInteger, 20)
    .option('--query <visibility-query>', 'a Temporal list filter, e.g. "ExecutionStatus=\'Failed\'"')
    .option('--all', 'child workflows too (batches, grid searches, models)')
    .action(async (o: RunsOptions) => (await import('./commands/runs.js')).runsCommand(o));
  program
    .command('cancel')
    .description('request cancellation of a run')
    .argument('<run>', 'workflow id')
    .action(async (run: string) => (await import('./commands/runs.js')).cancelCommand(run));
  program
    .command('status')
    .description(
      "a run's progress: stage, files, grid points, each training's epoch/batch and ETA; warns about queues without workers",
    )
    .argument('<run>', 'workflow id')
    .option('--watch', 'follow it until it ends')
    .action(async (run: string, o: { watch?: boolean }) =>
      (await import('./commands/status.js')).statusCommand(run, o),
    );
  program
    .command('logs')
    .description("a run's story from its history: activities, retries, failures and their causes")
    .argument('<run>', 'workflow id')
    .action(async (run: string) => (await import('./commands/runs.js')).logsCommand(run));
  program
    .command('report')
    .description("print a pipeline run's report (report.md)")
    .argument('<run>', "workflow id, or the run's work URI")
    .option('--open', 'open report.html in the browser instead')
    .action(async (run: string, o: { open?: boolean }) => (await import('./commands/runs.js')).reportCommand(run, o));
}

/** Object storage: ls, cat, cp. */
function addObjectCommands(program: Command): void {
  program
    .command('ls')
    .description('list objects under a prefix (recursive)')
    .argument('<uri>', 's3://, file:// or a local path; http(s):// directory indexes too')
    .option('-l, --long', 'with size and modification time')
    .action(async (uri: string, o: LsOptions) => (await import('./commands/objects.js')).lsCommand(uri, o));
  program
    .command('cat')
    .description('write objects to stdout')
    .argument('<uri...>', 'objects to print')
    .action(async (uris: string[]) => (await import('./commands/objects.js')).catCommand(uris));
  program
    .command('cp')
    .description('copy an object, or every object under a prefix (source ending in /)')
    .argument('<from>', 'source')
    .argument('<to>', 'destination (s3:// or file://); ending in / copies into it')
    .action(async (from: string, to: string) => (await import('./commands/objects.js')).cpCommand(from, to));
}

/** Each stage run in this process, the way its activity runs it. */
function addStageCommands(program: Command): void {
  program
    .command('features')
    .description('selection and features of samples, the layout featuresWorkflow writes')
    .addOption(sampleOption())
    .option('--config <file>', 'a JSON file with samples (and featuresWorkflow options)')
    .requiredOption('--out <dir-uri>', 'writes <dir>/parts/*.parquet and <dir>/manifest.json (required)', uriArgument)
    .option('--empty-if-missing <collections>', 'collections to treat as empty (electrons,muons,missingEt)', csv)
    .option('--allow-failed-files', 'go on without files that cannot be read')
    .action(async (o: FeaturesOptions) => (await import('./commands/stages.js')).featuresCommand(o));
  program
    .command('dataset')
    .description('a balanced, shuffled, split dataset from features')
    .requiredOption('--features <dir-uri>', 'what `hepflow features` or featuresWorkflow wrote (required)', uriArgument)
    .requiredOption('--out <uri>', 'output (required)', uriArgument)
    .addOption(new Option('--kind <kind>', 'dev (small) or full').choices(['dev', 'full']).default('dev'))
    .option('--max-events <n>', 'cap on events', positiveInteger)
    .option('--seed <s>', 'shuffle seed', positiveInteger)
    .action(async (o: DatasetOptions) => (await import('./commands/stages.js')).datasetCommand(o));
  program
    .command('train')
    .description('train one model (locally, or with --workers N data-parallel on the running pool)')
    .addOption(
      new Option('--model <kind>', 'model kind (required)')
        .choices(['hlf', 'gru', 'particle-sequence', 'inclusive'])
        .makeOptionMandatory(),
    )
    .requiredOption('--data <dataset-uri>', 'dataset (required)', uriArgument)
    .requiredOption('--out <uri>', 'output (required)', uriArgument)
    .option('--backend <backend>', 'auto, tensorflow, tensorflow-gpu, wasm or cpu')
    .option('--epochs <n>', 'epochs', positiveInteger)
    .option('--batch <n>', 'batch size', positiveInteger)
    .option('--lr <x>', 'learning rate', positiveNumber)
    .option('--max-len <t>', 'particles per event (sequence models)', positiveInteger)
    .option('--workers <n>', 'N workers of the running pool train one model data-parallel (Temporal)', positiveInteger)
    .option('--local-steps <k>', 'with --workers: steps per worker between synchronisations', positiveInteger)
    .option('--gpu', "with --workers: the GPU pool's workers")
    .option('--no-wait', 'with --workers: return once started')
    .action(async (o: TrainOptions) => (await import('./commands/stages.js')).trainCommand(o));
  program
    .command('evaluate')
    .description('test-set accuracy, AUC per class and ROC curves of a model')
    .requiredOption('--model <model-uri>', 'model (required)', uriArgument)
    .requiredOption('--data <dataset-uri>', 'dataset (required)', uriArgument)
    .option('--out <uri>', 'output (default <model>/evaluation)', uriArgument)
    .action(async (o: EvaluateOptions) => (await import('./commands/stages.js')).evaluateCommand(o));
}

/** The registry, export, batch scoring and serving of a trained model. */
function addModelCommands(program: Command): void {
  const models = program.command('models').description('the model registry');
  registryOption(
    models.command('list', { isDefault: true }).description('name@version, kind, classes, test accuracy and AUC'),
  ).action(async (o: { registry?: string }) => (await import('./commands/models.js')).modelsListCommand(o));
  registryOption(models.command('show').description('one entry (lineage) as JSON').argument('<name[@version]>')).action(
    async (ref: string, o: { registry?: string }) => (await import('./commands/models.js')).modelsShowCommand(ref, o),
  );
  registryOption(
    models
      .command('register')
      .description('register a trained model under a name')
      .requiredOption('--name <name>', 'registry name (required)')
      .requiredOption('--model <model-uri>', 'the model (required)', uriArgument)
      .option('--dataset <dataset-uri>', 'the dataset it was trained on', uriArgument),
  ).action(async (o: { name: string; model: string; dataset?: string; registry?: string }) =>
    (await import('./commands/models.js')).modelsRegisterCommand(o),
  );
  registryOption(
    program
      .command('export')
      .description("model.json with Keras' standard GRU, model.keras, scalers")
      .requiredOption('--model <model>', 'model URI or name[@version] (required)')
      .requiredOption('--out <uri>', 'output (required)', uriArgument)
      .option('--no-keras', 'skip model.keras'),
  ).action(async (o: ExportOptions) => (await import('./commands/models.js')).exportCommand(o));
  workflowOptions(
    registryOption(
      program
        .command('score')
        .description('per-event class probabilities (scoreWorkflow)')
        .requiredOption('--model <model>', 'model URI or name[@version] (required)')
        .requiredOption(
          '--input <uri>',
          'a prefix (or one file) of Delphes ROOT files, or with --parts of feature parts (*.parquet) (required)',
          uriArgument,
        )
        .requiredOption('--out <uri>', 'output (required)', uriArgument)
        .option('--select <class>=<p>', "keep events with p(class) >= p, e.g. 'ttbar>=0.8' (quote it)")
        .option('--parts', 'the input is feature parts')
        .option('--labels <sidecar|class>', 'ROOT inputs: the true classes for the efficiency table')
        .option('--empty-if-missing <collections>', 'collections to treat as empty', csv)
        .option('--events-per-call <n>', 'events per model call', positiveInteger)
        .option('--files-in-flight <n>', 'files scored at once', positiveInteger, 8)
        .option('--allow-failed-files', 'exit 0 even when some files failed'),
    ),
  ).action(async (o: ScoreOptions) => (await import('./commands/models.js')).scoreCommand(o));
  registryOption(
    program
      .command('serve')
      .description('real-time inference: HTTP endpoint, Kafka stream; drains on SIGTERM')
      .requiredOption('--model <model>', 'model URI or name[@version] (required)')
      .option('--host <host>', 'listen address', '127.0.0.1')
      .option('--port <port>', 'listen port (0: any free one)', listenPort, 8080)
      .option('--select <class>=<p>', "flag events with p(class) >= p, e.g. 'ttbar>=0.8'")
      .option('--max-batch <n>', 'events per model call', positiveInteger)
      .option(
        '--max-delay-ms <ms>',
        'longest wait to fill a batch (0: none, batches form under load)',
        nonNegativeNumber,
      )
      .option('--max-queue <n>', 'events queued before requests are refused', positiveInteger)
      .option('--backend <backend>', 'auto, tensorflow, wasm or cpu')
      .option('--model-name <name>', "the model's name in the Open Inference Protocol (/v2; default: its kind)")
      .option('--grpc-port <port>', 'also serve the Open Inference Protocol over gRPC (0: any free port)', listenPort)
      .option('--kafka <brokers>', 'also consume events from Kafka (host:port,...) and produce scores', csv)
      .option('--input-topic <topic>', 'Kafka input topic', 'events')
      .option('--output-topic <topic>', 'Kafka output topic', 'scores')
      .option('--dead-letter-topic <topic>', 'Kafka topic for bad messages', 'events-dead')
      .option('--group <id>', 'Kafka consumer group', 'hepflow-serve'),
  ).action(async (o: ServeOptions) => (await import('./commands/models.js')).serveCommand(o));
}
