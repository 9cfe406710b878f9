import assert from 'node:assert/strict';
import { test } from 'node:test';
import { project, SEED_WORKLOAD, type MeasuredRates, type Workload } from '../bench/lib/capacity-model.js';
import { historyViolations, runFootprint } from '../bench/lib/history-footprint.js';

const rates: MeasuredRates = {
  features: { perCore: 1000, bytesPerUnit: 100_000 },
  dataset: { perCore: 50_000, oneActivity: true, bytesPerUnit: 10_000 },
  training: { perCore: 1000, bytesPerUnit: 5_000, bytesOncePerRow: 20_000 },
  temporal: { activitiesPerSecond: 100, activitiesPerFile: 1.02 },
  s3BytesPerSecond: 1e9,
};
const work: Workload = { events: 1e6, inputFiles: 10_000, datasetRows: 200_000, trainRows: 100_000, epochs: 2 };
const byStage = (cores: number) => Object.fromEntries(project(work, rates, cores).stages.map((s) => [s.stage, s]));

test('one core: each stage is worker CPU, its time the work over the per-core rate', () => {
  const s = byStage(1);
  assert.equal(s.features!.bottleneck, 'worker CPU');
  assert.equal(s.features!.seconds, 1000);
  assert.equal(s.dataset!.seconds, 4);
  assert.equal(s.training!.seconds, 200);
  // Two epochs of 100,000 samples at 5 kB each, and the dataset's 20 kB a row read once.
  assert.equal(s.training!.bytes, 2 * 100_000 * 5_000 + 100_000 * 20_000);
  assert.equal(project(work, rates, 1).seconds, 1204);
  assert.equal(project(work, rates, 1).bottleneck, 'worker CPU');
});

test('more cores: the feature stage meets Temporal, then S3 once Temporal is faster', () => {
  // 1e6 events × 100 kB = 100 GB over 1 GB/s = 100 s; 10,200 activities / 100/s = 102 s.
  const at100 = byStage(100).features!;
  assert.equal(at100.bottleneck, 'Temporal activities/s');
  assert.equal(at100.seconds, 102);
  assert.equal(at100.demand['S3 bandwidth'], 100);
  assert.equal(at100.demand['worker CPU'], 10);
  const fasterTemporal = project(work, { ...rates, temporal: { ...rates.temporal, activitiesPerSecond: 1000 } }, 100);
  assert.equal(fasterTemporal.stages[0]!.bottleneck, 'S3 bandwidth');
  assert.equal(fasterTemporal.stages[0]!.seconds, 100);
});

test('a one-activity stage does not speed up with cores; the longest stage names the bottleneck', () => {
  const slowDataset: MeasuredRates = { ...rates, dataset: { ...rates.dataset, perCore: 10 } };
  const p = project(work, slowDataset, 400);
  assert.equal(p.stages[1]!.seconds, 20_000);
  assert.equal(project(work, slowDataset, 1).stages[1]!.seconds, 20_000);
  assert.equal(p.bottleneck, 'worker CPU');
  assert.equal(p.longest, 'dataset');
  assert.ok(p.stages[1]!.oneActivity);
  assert.equal(p.stages[1]!.activities, 1);
});

test('the seed workload is the reference pipeline, and bad rates are refused by name', () => {
  assert.equal(SEED_WORKLOAD.events, 54_500_000);
  assert.equal(SEED_WORKLOAD.trainRows, 3_426_083);
  assert.equal(SEED_WORKLOAD.epochs, 6);
  assert.throws(() => project(work, { ...rates, s3BytesPerSecond: 0 }, 10), /rate s3 must be > 0, got 0/);
  assert.throws(() => project(work, rates, 0), /cores must be >= 1, got 0/);
});

test('a history footprint counts events, activities, the continue-as-new link and the largest payload', () => {
  const payload = (n: number) => ({
    payloads: [{ metadata: { encoding: new Uint8Array(8) }, data: new Uint8Array(n) }],
  });
  const events = [
    { workflowExecutionStartedEventAttributes: { workflowType: { name: 'w' }, input: payload(300) } },
    { activityTaskScheduledEventAttributes: { activityType: { name: 'a' }, input: payload(70_000) } },
    { activityTaskScheduledEventAttributes: { activityType: { name: 'a' }, input: payload(10) } },
    {
      childWorkflowExecutionStartedEventAttributes: { workflowExecution: { workflowId: 'c', runId: 'rc' } },
    },
    { workflowExecutionContinuedAsNewEventAttributes: { newExecutionRunId: 'r2' } },
  ];
  const f = runFootprint('w1', 'r1', events);
  assert.equal(f.events, 5);
  assert.equal(f.activities, 2);
  assert.equal(f.workflowType, 'w');
  assert.equal(f.largestPayloadBytes, 70_000);
  assert.equal(f.continuedAs, 'r2');
  assert.deepEqual(f.children, [{ workflowId: 'c', runId: 'rc' }]);
  assert.ok(f.bytes > 70_300 && f.bytes < 71_000, `${f.bytes} bytes`);
  assert.deepEqual(historyViolations([f], { events: 10, bytes: 1e6, payloadBytes: 256 * 1024 }), []);
  assert.deepEqual(historyViolations([f], { events: 4, bytes: 70_000, payloadBytes: 65_536 }), [
    'w w1 (run r1): 5 history events > 4',
    `w w1 (run r1): ${f.bytes} history bytes > 70000`,
    'w w1 (run r1): a 70000-byte payload > 65536',
  ]);
});
