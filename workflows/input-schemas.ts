/**
 * The schemas of the workflows' inputs. Each workflow checks its input first thing, so a
 * malformed start (a number for a URI, a missing key, `s3:/x`) fails at once,
 * non-retryably, naming the key and what was expected, instead of failing a workflow
 * task again and again. The CLI checks run files against the same schemas.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { WorkflowFailureTypes } from '../src/contract/errors.js';
import {
  anything,
  array,
  boolean,
  either,
  InputSchemaError,
  inputUri,
  number,
  object,
  oneOf,
  optional,
  plainObject,
  positiveInt,
  string,
  uri,
  type Check,
} from '../src/contract/validate.js';
import { resolveSamples, samplesSchema } from '../src/contract/samples.js';
import { DELPHES_BRANCHES } from '../src/contract/delphes-event.js';
import { SELECTION_METRICS } from '../src/contract/training.js';

const seed = number({ integer: true, min: 0 });
const fraction = number({ above: 0, below: 1 });
const name = string({ pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, what: 'a name of letters, digits, _ . -' });

// Durations as Temporal takes them: '30 seconds', '1m', or milliseconds.
const duration = either<string | number>(
  string({ nonEmpty: true, what: "a duration such as '30 seconds'" }),
  positiveInt,
);
/** RetrySettings of src/contract/policies.ts. */
const retry = optional(
  object({ initialInterval: optional(duration), maximumInterval: optional(duration), budget: optional(duration) }),
);

const fanOut = {
  // A batch's history grows about 5 events and its result payload about 470 bytes per file,
  // the parent's run about 9 events per batch (docs/capacity.md): these bounds keep both
  // well below Temporal's limits (51,200 events; 256 kB payloads warn, 2 MB fail).
  batchSize: optional(number({ integer: true, min: 1, max: 500 })),
  filesInFlight: optional(positiveInt),
  batchesInFlight: optional(positiveInt),
  batchesPerRun: optional(number({ integer: true, min: 1, max: 1000 })),
  suffix: optional(string({ nonEmpty: true })),
  // Written by the workflow itself when it continues as new.
  progress: optional(anything),
  retry,
};

const featureOptions = {
  treeName: optional(string({ nonEmpty: true })),
  emptyIfMissing: optional(array(oneOf(Object.keys(DELPHES_BRANCHES) as (keyof typeof DELPHES_BRANCHES)[]))),
  rowGroupSize: optional(positiveInt),
  /** Go on when some (not all) files of a sample fail; the manifest and the report say so. */
  allowFailedFiles: optional(boolean),
};

export const featuresInputSchema = object({ samples: samplesSchema, outputUri: uri, ...featureOptions, ...fanOut });

export const datasetInputSchema = object({
  featuresUri: uri,
  outputUri: uri,
  devEvents: optional(positiveInt),
  seed: optional(seed),
  testFraction: optional(fraction),
  retry,
});

const trainSpec = object(
  {
    kind: oneOf(['hlf', 'particle-sequence', 'inclusive', 'gru']),
    model: optional(plainObject),
    training: optional(plainObject),
  },
  'a training spec { kind, model?, training? }',
);

const pool = oneOf(['cpu', 'gpu']);
const selectionMetric = oneOf(SELECTION_METRICS);

/** What a grid search is asked, directly or as one of the pipeline's models. */
const gridFields = {
  spec: trainSpec,
  grid: optional(plainObject),
  pool: optional(pool),
  gpuTaskQueue: optional(string({ nonEmpty: true })),
  pointsInFlight: optional(positiveInt),
  selectionMetric: optional(selectionMetric),
  /** Above 1, every point is one model trained data-parallel by this many shards. */
  workers: optional(positiveInt),
  localSteps: optional(positiveInt),
};

/** A tuning study's settings (workflows/tune.ts TuneSettings); the space is checked by the workflow. */
const tune = object(
  {
    method: oneOf(['asha', 'hyperband', 'random']),
    trials: number({ integer: true, min: 1, max: 10_000 }),
    space: optional(plainObject),
    sampler: optional(oneOf(['halton', 'random'])),
    seed: optional(seed),
    minEpochs: optional(positiveInt),
    maxEpochs: optional(positiveInt),
    eta: optional(number({ integer: true, min: 2 })),
    brackets: optional(positiveInt),
  },
  'a study { method, trials, space?, sampler?, seed?, minEpochs?, maxEpochs?, eta?, brackets? }',
);

const pipelineModel = object(
  { name, ...gridFields, tune: optional(tune) },
  'a model { name, spec, grid?, tune?, pool?, workers?, ... }',
);

export const gridSearchInputSchema = object({
  name: optional(name),
  datasetUri: uri,
  outputUri: uri,
  ...gridFields,
  heartbeatTimeout: optional(duration),
  retry,
});

export const tuneInputSchema = object({
  name: optional(name),
  datasetUri: uri,
  outputUri: uri,
  spec: trainSpec,
  tune,
  pool: optional(pool),
  gpuTaskQueue: optional(string({ nonEmpty: true })),
  pointsInFlight: optional(positiveInt),
  selectionMetric: optional(selectionMetric),
  heartbeatTimeout: optional(duration),
  retry,
});

const distributedTrainObject = object({
  runId: string({ nonEmpty: true }),
  datasetUri: uri,
  outputUri: uri,
  // A full TrainConfig, checked field by field by the plan activity (validateTrainConfig).
  config: optional(plainObject),
  spec: optional(trainSpec),
  workers: positiveInt,
  localSteps: optional(positiveInt),
  warmupEpochs: optional(number({ min: 0 })),
  pool: optional(pool),
  gpuTaskQueue: optional(string({ nonEmpty: true })),
  heartbeatTimeout: optional(duration),
  roundsPerRun: optional(positiveInt),
  // Written by the workflow itself when it continues as new.
  resumedFromEpoch: optional(number({ integer: true, min: 0 })),
  retry,
});

export const distributedTrainInputSchema: Check<ReturnType<typeof distributedTrainObject>> = Object.assign(
  (v: unknown, key: string) => {
    const d = distributedTrainObject(v, key);
    if ((d.config === undefined) === (d.spec === undefined))
      throw new InputSchemaError(
        key,
        'exactly one of config (a full TrainConfig) or spec ({ kind, model?, training? })',
        Object.keys(d),
      );
    return d;
  },
  { expected: distributedTrainObject.expected },
);

export const generateInputSchema = object({
  outputUri: uri,
  events: positiveInt,
  files: positiveInt,
  seed: optional(seed),
  mix: optional(either<unknown>(string({ nonEmpty: true }), plainObject)),
  pileup: optional(number({ min: 0 })),
  filesInFlight: optional(positiveInt),
  retry,
});

export const ingestInputSchema = object({
  inputUri,
  outputUri: uri,
  treeName: optional(string({ nonEmpty: true })),
  statBranches: optional(array(string({ nonEmpty: true }))),
  ...fanOut,
});

/** The score stage's input: a trained model over ROOT files or feature parts. */
export const scoreInputSchema = object({
  inputUri,
  outputUri: uri,
  modelUri: uri,
  selection: optional(object({ className: string({ nonEmpty: true }), threshold: number({ min: 0, max: 1 }) })),
  labels: optional(
    either<unknown>(
      object({
        from: oneOf(['class']),
        className: string({ nonEmpty: true }),
        label: number({ integer: true, min: 0 }),
      }),
      object({ from: oneOf(['sidecar']), classes: array(string({ nonEmpty: true })) }),
    ),
  ),
  treeName: optional(string({ nonEmpty: true })),
  emptyIfMissing: featureOptions.emptyIfMissing,
  eventsPerCall: optional(positiveInt),
  ...fanOut,
});

const pipelineObject = object({
  workUri: uri,
  samples: optional(samplesSchema),
  generate: optional(
    object(
      {
        events: positiveInt,
        files: positiveInt,
        seed: optional(seed),
        mix: optional(either<unknown>(string({ nonEmpty: true }), plainObject)),
        pileup: optional(number({ min: 0 })),
      },
      'a generated sample { events, files, seed?, mix?, pileup? }',
    ),
  ),
  treeName: featureOptions.treeName,
  emptyIfMissing: featureOptions.emptyIfMissing,
  allowFailedFiles: featureOptions.allowFailedFiles,
  dataset: optional(
    object({
      kind: optional(oneOf(['dev', 'full'])),
      maxEvents: optional(positiveInt),
      seed: optional(seed),
      testFraction: optional(fraction),
      rowGroupSize: optional(positiveInt),
    }),
  ),
  models: array(pipelineModel, { min: 1 }),
  filesInFlight: optional(positiveInt),
  register: optional(boolean),
  registryPrefix: optional(string({ nonEmpty: true })),
  registryUri: optional(uri),
  retry,
});

export const pipelineInputSchema: Check<ReturnType<typeof pipelineObject>> = Object.assign(
  (v: unknown, key: string) => {
    const p = pipelineObject(v, key);
    if ((p.samples === undefined) === (p.generate === undefined))
      throw new InputSchemaError(
        key,
        'exactly one of samples (your files) or generate (a synthetic sample)',
        Object.keys(p),
      );
    if (p.samples) resolveSamples(p.samples, `${key}.samples`);
    const names = p.models.map((m) => m.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        throw new InputSchemaError(`${key}.models[${i}].name`, 'a name no other model has', n);
    });
    return p;
  },
  { expected: pipelineObject.expected },
);

/**
 * Checks a workflow's input; a mismatch fails the workflow non-retryably, naming the key.
 * Whatever a check throws is a verdict on the input, and a plain error would fail only the
 * workflow task, which Temporal retries for ever.
 */
export function validated<T>(schema: Check<unknown>, input: T, key = 'input'): T {
  try {
    schema(input, key);
    return input;
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, WorkflowFailureTypes.invalidInput);
  }
}
