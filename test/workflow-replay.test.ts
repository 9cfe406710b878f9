/**
 * Replay: every history under test/histories/ must replay against today's workflow code.
 * A workflow change that would break runs in flight (another order of activities or
 * children, a removed step, new non-determinism) fails here. An intentional change of
 * that kind needs `patched()` in the workflow, or, when no run of the old code can be in
 * flight, new recordings: `npm run record-histories` (docs/development.md).
 *
 * With HEPFLOW_RECORD_HISTORIES=1 this file records the histories instead: it runs each
 * workflow once on a dev server against the stubbed activities of the workflow tests and
 * writes the histories of the runs and their children.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../src/paths.js';
import * as registered from '../workflows/index.js';
import type { TrainConfig } from '../src/ml/training/config.js';
import { startTestTemporal } from './helpers/temporal.js';
import {
  datasetStub,
  distributedStubs,
  featureStub,
  gridStubs,
  inMemoryFanOut,
  inspected,
  NO_RETRY,
  pipelineInput,
  pipelineStubs,
  POINTS,
  trained,
  withStubWorker,
  workflowBundle,
  type Activities,
  type ActivityStubs,
} from './helpers/workflow-stubs.js';

const HISTORIES = join(projectRoot, 'test', 'histories');

/**
 * Histories as protobuf's JSON objects, read back with the same classes: the SDK's
 * historyToJSON/historyFromJSON fail here ('type must be a Type') because npm installs
 * two copies of protobufjs 8 (under @temporalio/common and @temporalio/proto).
 */
const { History } = proto.temporal.api.history.v1;
const JSON_FORM = { longs: String, enums: String, bytes: String } as const;
const historyJson = (h: proto.temporal.api.history.v1.IHistory): string =>
  JSON.stringify(History.toObject(History.fromObject(h), JSON_FORM));
const readHistory = (file: string) =>
  History.fromObject(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);

interface Recording {
  /** The run's workflow id; its children's ids are this plus a suffix. */
  readonly name: string;
  readonly workflow: string;
  readonly input: unknown;
  readonly stubs: ActivityStubs;
  /** Child workflow ids, as suffixes of the run's id, whose histories are recorded too. */
  readonly children?: readonly string[];
  /** Also record the first run of a chain that continued as new. */
  readonly firstRun?: boolean;
}

const trainAllBut = (failing: string) =>
  gridStubs(async (run) => {
    if (run.runId === failing)
      throw ApplicationFailure.nonRetryable('training diverged at epoch 2', 'TrainingDiverged');
    return trained(run.runId, run.runId === 'b128' ? 0.9 : 0.8);
  });
const generateFile = async (input: Parameters<Activities['generateFile']>[0]) => ({
  uri: input.uri,
  events: input.events,
  bytes: 1000,
  classCounts: { qcd: input.events },
  reused: false,
});

/** A study's activities: trial t004 fails, the others score by index and rung. */
const studyStubs = {
  planTrials: async (input: Parameters<Activities['planTrials']>[0]) =>
    input.trials.map((t) => ({ id: t.id, params: {}, config: {} as TrainConfig })),
  loadStudy: async () => [],
  trainTrialRung: async (input: Parameters<Activities['trainTrialRung']>[0]) => {
    if (input.trial === 't004') throw ApplicationFailure.nonRetryable('training diverged', 'TrainingDiverged');
    return trained(input.trial, 0.7 + input.index / 100 + input.rung / 10);
  },
};

/** One run of each workflow, down the paths that matter: a failed point, a failed file, continue-as-new, children. */
const recordings = (): Recording[] => [
  {
    name: 'pipeline',
    workflow: 'pipelineWorkflow',
    input: pipelineInput({
      allowFailedFiles: true,
      models: [{ name: 'hlf', spec: { kind: 'hlf' }, grid: { batch: [32, 64, 128] } }],
    }),
    stubs: pipelineStubs({
      ...trainAllBut('b64'),
      prepareFileFeatures: featureStub(undefined, (uri) =>
        uri.endsWith('ttbar/f1.root')
          ? ApplicationFailure.nonRetryable('truncated basket', 'RootFormatError')
          : undefined,
      ),
      buildDataset: datasetStub({ ttbar: 4, wjets: 8 }),
    }).stubs,
    children: ['-features', '-features-batch-0', '-grid-hlf'],
  },
  {
    name: 'pipeline-generated',
    workflow: 'pipelineWorkflow',
    input: { ...pipelineInput(), samples: undefined, generate: { events: 30, files: 2, seed: 1 } },
    stubs: pipelineStubs({ generateFile, buildDataset: datasetStub({ qcd: 8, ttbar: 8, wjets: 8 }) }).stubs,
    children: ['-generate'],
  },
  {
    name: 'grid-search-distributed',
    workflow: 'gridSearchWorkflow',
    input: { datasetUri: 's3://stub/dataset/', outputUri: 's3://stub/models/hlf', spec: { kind: 'hlf' }, workers: 2 },
    stubs: {
      ...gridStubs(async () => assert.fail('single-worker training is not used with workers > 1')),
      ...distributedStubs((s) => {
        if (s.outputUri.endsWith('/b64'))
          throw ApplicationFailure.nonRetryable('the loss became NaN', 'TrainingDiverged');
      }),
    },
    children: POINTS.map((p) => `/${p}`),
  },
  {
    name: 'tune-asha',
    workflow: 'tuneWorkflow',
    input: {
      datasetUri: 's3://stub/dataset/',
      outputUri: 's3://stub/models/hlf',
      spec: { kind: 'hlf' },
      tune: { method: 'asha', trials: 6, maxEpochs: 3, eta: 3 },
      pointsInFlight: 2,
    },
    stubs: { ...gridStubs(async () => assert.fail('a study trains through trainTrialRung')), ...studyStubs },
  },
  {
    name: 'pipeline-tuned',
    workflow: 'pipelineWorkflow',
    input: pipelineInput({
      models: [{ name: 'hlf', spec: { kind: 'hlf' }, tune: { method: 'hyperband', trials: 4, maxEpochs: 4, eta: 2 } }],
    }),
    stubs: pipelineStubs(studyStubs).stubs,
    children: ['-tune-hlf'],
  },
  {
    name: 'grid-search-failed',
    workflow: 'gridSearchWorkflow',
    input: { datasetUri: 's3://stub/dataset/', outputUri: 's3://stub/models/hlf', spec: { kind: 'hlf' } },
    stubs: gridStubs(async () => {
      throw ApplicationFailure.nonRetryable('too few events to validate', 'DatasetTooSmall');
    }),
  },
  {
    name: 'distributed-train',
    workflow: 'distributedTrainWorkflow',
    input: {
      runId: 'r',
      datasetUri: 's3://stub/dataset/',
      outputUri: 's3://stub/models/r',
      config: { epochs: 1 },
      workers: 2,
      roundsPerRun: 1,
    },
    stubs: distributedStubs(() => {}, 2),
    firstRun: true,
  },
  {
    name: 'ingest',
    workflow: 'ingestWorkflow',
    input: {
      inputUri: 's3://stub/in/',
      outputUri: 's3://stub/ingest',
      batchSize: 2,
      batchesPerRun: 1,
      retry: NO_RETRY,
    },
    stubs: {
      ...inMemoryFanOut(3).stubs,
      inspectRootFile: async (input: Parameters<Activities['inspectRootFile']>[0]) => {
        if (input.file.uri.endsWith('f1.root'))
          throw ApplicationFailure.nonRetryable(`${input.file.uri}: tree 'Delphes' not found`, 'RootFileError');
        return inspected(5);
      },
    },
    children: ['-batch-0', '-batch-1'],
    firstRun: true,
  },
  {
    name: 'score',
    workflow: 'scoreWorkflow',
    input: {
      inputUri: 's3://stub/in/',
      outputUri: 's3://stub/scores',
      modelUri: 's3://stub/model/',
      selection: { className: 'ttbar', threshold: 0.5 },
    },
    stubs: {
      ...inMemoryFanOut(2).stubs,
      scoreFile: async (input: Parameters<Activities['scoreFile']>[0]) => ({
        partUri: `${input.file.uri}.scores.parquet`,
        rows: 7,
        reused: false,
        counters: { read: 10, scored: 7, accepted: 3 },
      }),
      summarizeScores: async () => ({
        parts: 2,
        rows: 14,
        efficiencyUri: 's3://stub/scores/selection/efficiency.json',
        acceptedUri: 's3://stub/scores/selection/accepted.csv',
      }),
    },
    children: ['-batch-0'],
  },
  {
    name: 'generate',
    workflow: 'generateWorkflow',
    input: { outputUri: 's3://stub/gen/', events: 30, files: 3, seed: 2 },
    stubs: { generateFile },
  },
  {
    name: 'dataset',
    workflow: 'datasetWorkflow',
    input: { featuresUri: 's3://stub/features/', outputUri: 's3://stub/datasets', devEvents: 10 },
    stubs: { buildDataset: datasetStub({ ttbar: 8, wjets: 8 }) },
  },
];

/**
 * A history file is named by its workflow id (which replay checks against the children a
 * run starts), '/' written as '~', and '@first-run' for the first run of a chain.
 */
const fileOf = (workflowId: string, run = '') => `${workflowId.replaceAll('/', '~')}${run}.json`;
const workflowIdOf = (file: string) => file.replace(/(@[^.]*)?\.json$/, '').replaceAll('~', '/');

async function record(env: TestWorkflowEnvironment, r: Recording): Promise<string[]> {
  const id = r.name;
  const written: string[] = [];
  const save = async (file: string, workflowId: string, runId?: string) => {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    writeFileSync(join(HISTORIES, file), `${historyJson(history)}\n`);
    written.push(file);
  };
  await withStubWorker(env, r.stubs, async (taskQueue) => {
    const handle = await env.client.workflow.start(r.workflow, { taskQueue, workflowId: id, args: [r.input] });
    // Failed runs are recorded too: replaying a failure checks the same commands.
    await handle.result().catch(() => undefined);
    await save(fileOf(id), id);
    if (r.firstRun) await save(fileOf(id, '@first-run'), id, handle.firstExecutionRunId);
    for (const child of r.children ?? []) await save(fileOf(`${id}${child}`), `${id}${child}`);
  });
  return written;
}

if (process.env.HEPFLOW_RECORD_HISTORIES === '1') {
  test('record the workflow histories under test/histories/', async () => {
    const env = await startTestTemporal();
    try {
      rmSync(HISTORIES, { recursive: true, force: true });
      mkdirSync(HISTORIES, { recursive: true });
      for (const r of recordings()) console.log(`recorded ${(await record(env, r)).join(', ')}`);
    } finally {
      await env.teardown();
    }
  });
} else {
  test('every workflow the CPU pool registers has a recorded history', () => {
    const recorded = new Set(
      readdirSync(HISTORIES)
        .filter((f) => f.endsWith('.json'))
        .map(
          (f) =>
            readHistory(join(HISTORIES, f)).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
        ),
    );
    // A workflow nobody recorded is one whose changes no replay checks.
    assert.deepEqual(
      Object.keys(registered).filter((name) => !recorded.has(name)),
      [],
      'workflows in workflows/index.ts with no history under test/histories/: add a run of each to recordings() here, then npm run record-histories',
    );
  });

  test('every recorded workflow history replays against the current workflow code', async () => {
    const files = readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .sort();
    // Each recording's run is there (a lost file would silently replay less).
    for (const r of recordings())
      assert.ok(files.includes(fileOf(r.name)), `test/histories/${fileOf(r.name)} (npm run record-histories)`);
    const histories = files.map((f) => ({ workflowId: workflowIdOf(f), history: readHistory(join(HISTORIES, f)) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      replayed++;
      if (result.error)
        failures.push(
          `${result.workflowId} (${result.runId}): ${result.error instanceof Error ? result.error.message : String(result.error)}`,
        );
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(
      failures,
      [],
      'histories that no longer replay: the change needs patched() or, if no such run can be in flight, npm run record-histories',
    );
  });
}
