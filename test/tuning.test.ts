/**
 * The tuning domain logic without Temporal (src/contract/tuning.ts): search-space
 * validation, seeded random and Halton sampling, the rung ladder, and ASHA's promotion
 * rule driven through whole simulated studies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bracketOf,
  epochsTrained,
  fromUnit,
  latestRungs,
  nextJob,
  radicalInverse,
  rungEpochs,
  sampleTrial,
  trialId,
  unitPoint,
  validateHalving,
  validateSearchSpace,
  type HalvingConfig,
  type Job,
  type RungResult,
  type SearchSpace,
} from '../src/contract/tuning.js';
import { gridParamsOf } from '../activities/tune.js';
import { defaultTrainConfig } from '../src/ml/training/config.js';
import { modelConfig } from '../src/ml/models.js';
import { describeProgress, type RunProgress } from '../src/contract/progress.js';

const space: SearchSpace = {
  learningRate: { type: 'loguniform', min: 1e-4, max: 1e-2 },
  hiddenUnits: { type: 'int', min: 10, max: 200, log: true },
  dropout: { type: 'uniform', min: 0, max: 0.5 },
  batchSize: { type: 'choice', values: [32, 64, 128] },
};

test('validateSearchSpace accepts the four range types and names the key and value it rejects', () => {
  assert.deepEqual(validateSearchSpace(space), space);
  const rejects = (raw: unknown, message: RegExp) => assert.throws(() => validateSearchSpace(raw), message);
  rejects({ lr: { type: 'uniform', min: 0, max: 1 } }, /unknown key 'lr'/);
  rejects({ dropout: { type: 'uniform', min: 0, max: 1 } }, /'dropout' value 1 is not in \[0, 1\)/);
  rejects({ learningRate: { type: 'loguniform', min: 0.1, max: 0.01 } }, /min 0.1 is above max 0.01/);
  rejects({ batchSize: { type: 'uniform', min: 16, max: 64 } }, /takes integers: use type 'int' or 'choice'/);
  rejects({ hiddenUnits: { type: 'int', min: 1.5, max: 9 } }, /'hiddenUnits' value 1.5 is not a positive integer/);
  rejects({ batchSize: { type: 'choice', values: [] } }, /non-empty 'values'/);
  rejects({ batchSize: { type: 'choice', values: [32, 0] } }, /'batchSize' value 0 is not a positive integer/);
  rejects({ learningRate: { type: 'gauss', min: 1, max: 2 } }, /type must be uniform, loguniform, int or choice/);
  rejects({ learningRate: { type: 'uniform', min: 1e-4, max: 1e-2, step: 2 } }, /unknown field 'step'/);
  rejects({ hiddenLayers: { type: 'int', min: 1, max: 2 } }, /only a 'choice' fits it/);
  rejects(
    { hiddenUnits: { type: 'int', min: 1, max: 2 }, hiddenLayers: { type: 'choice', values: [[4]] } },
    /not both/,
  );
  rejects([1], /must be an object of ranges/);
});

test('fromUnit maps the unit interval onto each range, ends included', () => {
  assert.equal(fromUnit({ type: 'uniform', min: 2, max: 4 }, 0.5), 3);
  assert.ok(Math.abs((fromUnit({ type: 'loguniform', min: 1e-4, max: 1e-2 }, 0.5) as number) - 1e-3) < 1e-12);
  const int = { type: 'int', min: 1, max: 3 } as const;
  assert.deepEqual(
    [0, 0.34, 0.67, 0.9999].map((u) => fromUnit(int, u)),
    [1, 2, 3, 3],
  );
  // On a log scale each integer's share shrinks as it grows: 1 takes half of [1, 3].
  const logInt = { type: 'int', min: 1, max: 3, log: true } as const;
  assert.deepEqual(
    [0.49, 0.51, 0.99].map((u) => fromUnit(logInt, u)),
    [1, 2, 3],
  );
  assert.deepEqual(fromUnit({ type: 'choice', values: [[5, 2], [9]] }, 0.99), [9]);
});

test('Halton points: van der Corput in each prime base, shifted per seed, evenly spread', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((i) => radicalInverse(i, 2)),
    [0.5, 0.25, 0.75, 0.125],
  );
  assert.deepEqual(
    [1, 2, 3].map((i) => radicalInverse(i, 3)),
    [1 / 3, 2 / 3, 1 / 9],
  );
  // 64 points in one dimension: exactly one in each of 8 equal bins per 8 points → 8 each.
  const xs = Array.from({ length: 64 }, (_, i) => unitPoint('halton', 7, i, 2)[0]!);
  const bins = new Array(8).fill(0);
  for (const x of xs) bins[Math.floor(x * 8)]++;
  assert.deepEqual(bins, new Array(8).fill(8));
  // Random points of the same count are far less even (the reason halton is the default).
  const rs = Array.from({ length: 64 }, (_, i) => unitPoint('random', 7, i, 2)[0]!);
  const rbins = new Array(8).fill(0);
  for (const x of rs) rbins[Math.floor(x * 8)]++;
  assert.notDeepEqual(rbins, new Array(8).fill(8));
  assert.notDeepEqual(unitPoint('halton', 1, 0, 3), unitPoint('halton', 2, 0, 3), 'the seed shifts the set');
  for (const p of [...xs, ...rs]) assert.ok(p >= 0 && p < 1);
});

test('sampleTrial: trial i depends only on (space, sampler, seed, i), never on the trial count', () => {
  for (const sampler of ['halton', 'random'] as const) {
    const a = Array.from({ length: 5 }, (_, i) => sampleTrial(space, sampler, 3, i));
    const b = Array.from({ length: 9 }, (_, i) => sampleTrial(space, sampler, 3, i));
    assert.deepEqual(b.slice(0, 5), a, 'adding trials keeps the earlier ones');
    assert.notDeepEqual(sampleTrial(space, sampler, 4, 0), a[0], 'another seed, other trials');
    for (const t of b) {
      assert.deepEqual(Object.keys(t), ['batchSize', 'learningRate', 'dropout', 'hiddenUnits']);
      assert.ok((t.learningRate as number) >= 1e-4 && (t.learningRate as number) <= 1e-2);
      assert.ok(Number.isInteger(t.hiddenUnits) && (t.hiddenUnits as number) >= 10 && (t.hiddenUnits as number) <= 200);
      assert.ok([32, 64, 128].includes(t.batchSize as number));
      validateSearchSpace(space);
    }
  }
  // JSON key order does not change the trials.
  const reordered = Object.fromEntries(Object.entries(space).reverse()) as SearchSpace;
  assert.deepEqual(sampleTrial(reordered, 'halton', 3, 2), sampleTrial(space, 'halton', 3, 2));
  assert.equal(trialId(7), 't007');
});

test('gridParamsOf: hiddenUnits scales the spec stack, keeping depth and shape', () => {
  const base = defaultTrainConfig(modelConfig('hlf'));
  assert.deepEqual(gridParamsOf({ hiddenUnits: 100, learningRate: 0.01 }, base), {
    hiddenLayers: [100, 40, 20],
    learningRate: 0.01,
  });
  assert.deepEqual(gridParamsOf({ hiddenUnits: 10 }, base).hiddenLayers, [10, 4, 2]);
  assert.deepEqual(gridParamsOf({ hiddenLayers: [7, 3] }, base).hiddenLayers, [7, 3]);
});

test('rungEpochs and validateHalving', () => {
  assert.deepEqual(rungEpochs({ minEpochs: 1, maxEpochs: 9, eta: 3 }), [1, 3, 9]);
  assert.deepEqual(rungEpochs({ minEpochs: 1, maxEpochs: 10, eta: 3 }), [1, 3, 9, 10]);
  assert.deepEqual(rungEpochs({ minEpochs: 2, maxEpochs: 2, eta: 3 }), [2]);
  assert.throws(() => validateHalving({ minEpochs: 4, maxEpochs: 2, eta: 3, brackets: 1 }), /minEpochs 4 is above/);
  assert.throws(
    () => validateHalving({ minEpochs: 1, maxEpochs: 9, eta: 1, brackets: 1 }),
    /'eta' must be an integer ≥ 2/,
  );
  assert.throws(() => validateHalving({ minEpochs: 1, maxEpochs: 9, eta: 3, brackets: 4 }), /4 brackets need 4 rungs/);
});

/**
 * A whole study driven through nextJob as the workflow drives it, `slots` trainings at
 * once, finishing in the order `order` picks; the score of a trial grows with its
 * epochs, and trial i's final quality is `quality(i)`.
 */
function simulate(c: HalvingConfig, trials: number, slots: number, quality: (i: number) => number, order = 0) {
  const epochs = rungEpochs(c);
  const results: RungResult[] = [];
  let running: Job[] = [];
  const jobs: Job[] = [];
  for (let step = 0; step < 10_000; step++) {
    while (running.length < slots) {
      const d = nextJob(c, trials, results, running);
      if (!('next' in d)) break;
      jobs.push(d.next);
      running.push(d.next);
    }
    if (running.length === 0) return { results, jobs };
    const j = running[(order * step) % running.length]!;
    running = running.filter((r) => r !== j);
    results.push({ ...j, score: quality(j.index) * (1 - 1 / (1 + epochs[j.rung]!)) });
  }
  throw new Error('study never ended');
}

test('ASHA: every trial starts at rung 0, the top 1/eta climb, the best trial reaches the top rung', () => {
  const c: HalvingConfig = { minEpochs: 1, maxEpochs: 9, eta: 3, brackets: 1 };
  // A permutation of the trials' qualities, so the best trial is not simply the first or last.
  const quality = (i: number) => 0.5 + ((i * 10) % 27) / 54;
  const best = Array.from({ length: 27 }, (_, i) => i).reduce((b, i) => (quality(i) > quality(b) ? i : b));
  for (const order of [0, 1, 5]) {
    const { results, jobs } = simulate(c, 27, 4, quality, order);
    const at = (k: number) => results.filter((r) => r.rung === k).length;
    assert.equal(at(0), 27, 'every trial trained its first rung');
    // The final top third of each rung is always promoted; early promotions can add a few more.
    assert.ok(at(1) >= 9 && at(1) <= 13, `rung 1: ${at(1)}`);
    assert.ok(at(2) >= 3 && at(2) <= 6, `rung 2: ${at(2)}`);
    assert.ok(
      results.some((r) => r.index === best && r.rung === 2),
      `order ${order}: the best trial reached the top`,
    );
    assert.equal(new Set(jobs.map((j) => `${j.index}/${j.rung}`)).size, jobs.length, 'no trial-rung twice');
    // Promotions only from a rung the trial finished.
    for (const j of jobs.filter((x) => x.rung > 0))
      assert.ok(results.some((r) => r.index === j.index && r.rung === j.rung - 1));
    // Far less compute than training all 27 to 9 epochs.
    const spent = epochsTrained(c, results);
    assert.ok(spent < (27 * 9) / 3, `spent ${spent} epochs`);
  }
});

test('ASHA: no promotion until a rung has eta results; failed trial-rungs are never promoted', () => {
  const c: HalvingConfig = { minEpochs: 1, maxEpochs: 3, eta: 3, brackets: 1 };
  const r = (index: number, score: number | undefined): RungResult => ({ index, rung: 0, score });
  assert.deepEqual(nextJob(c, 5, [r(0, 0.9), r(1, 0.5)], []), { next: { index: 2, rung: 0 } });
  assert.deepEqual(nextJob(c, 5, [r(0, 0.9), r(1, 0.5), r(2, 0.1)], []), { next: { index: 0, rung: 1 } });
  assert.deepEqual(nextJob(c, 5, [r(0, undefined), r(1, 0.5), r(2, 0.7)], [{ index: 2, rung: 1 }]), {
    next: { index: 3, rung: 0 },
  });
  // All started, one running: wait; nothing running: done.
  const all = [0, 1, 2].map((i) => r(i, 0.1 * i));
  assert.deepEqual(nextJob(c, 3, all, [{ index: 2, rung: 1 }]), { wait: true });
  assert.deepEqual(nextJob(c, 3, [...all, { index: 2, rung: 1, score: 0.3 }], []), { done: true });
  // Ties go to the lower index whatever the order the results came in.
  assert.deepEqual(nextJob(c, 3, [r(2, 0.5), r(1, 0.5), r(0, 0.2)], []), { next: { index: 1, rung: 1 } });
});

test('adding trials to a finished study continues it: new trials start, and their rung can promote more', () => {
  const c: HalvingConfig = { minEpochs: 1, maxEpochs: 9, eta: 3, brackets: 1 };
  const first = simulate(c, 9, 3, (i) => i / 10);
  assert.deepEqual(nextJob(c, 9, first.results, []), { done: true });
  const d = nextJob(c, 12, first.results, []);
  assert.deepEqual(d, { next: { index: 9, rung: 0 } });
});

test('Hyperband: trials go round-robin to brackets, bracket b starting at rung b', () => {
  const c: HalvingConfig = { minEpochs: 1, maxEpochs: 9, eta: 3, brackets: 3 };
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => bracketOf(c, i)),
    [0, 1, 2, 0],
  );
  const { results } = simulate(c, 18, 2, (i) => 1 - i / 40);
  for (const r of results) assert.ok(r.rung >= bracketOf(c, r.index));
  const starts = results.filter((r) => r.rung === bracketOf(c, r.index));
  assert.equal(starts.length, 18, 'every trial started in its bracket');
  // Bracket 2's trials train 9 epochs straight away: epochsTrained counts them from 0.
  assert.equal(epochsTrained(c, [{ index: 2, rung: 2, score: 1 }]), 9);
  assert.equal(epochsTrained(c, [{ index: 0, rung: 1, score: 1 }]), 2);
  assert.deepEqual(
    latestRungs([
      { index: 1, rung: 0, score: 1 },
      { index: 1, rung: 1, score: 2 },
      { index: 0, rung: 0, score: 3 },
    ]).map((r) => `${r.index}/${r.rung}`),
    ['0/0', '1/1'],
  );
});

test("describeProgress names a study's trials, how many stand at each rung and the best so far", () => {
  const p: RunProgress = {
    workflowId: 'w',
    kind: 'tune',
    stage: 'training',
    stageStartedAt: new Date(0).toISOString(),
    startedAt: new Date(0).toISOString(),
    model: 'hlf',
    children: [],
    points: [
      { id: 't000', params: {}, status: 'done', rung: 0, valMeanAuc: 0.8 },
      { id: 't001', params: {}, status: 'running', rung: 1 },
      { id: 't002', params: {}, status: 'done', rung: 1, valMeanAuc: 0.9 },
      { id: 't003', params: {}, status: 'waiting' },
    ],
  };
  assert.equal(
    describeProgress(p, 0),
    'tune hlf: training — 2/4 trials trained, 1 running, rungs 0:1 1:2, best t002 (val AUC 0.9000)',
  );
});
