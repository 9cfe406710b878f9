/**
 * The multi-host suite's short form, in the default suite: the Temporal server, the S3
 * server and three CPU workers on network-namespace hosts, and the pipeline on two real
 * Delphes files with a worker host killed whole (SIGKILL, every process) while it runs a
 * features activity. The run must complete on the other hosts with the cut flow of
 * ../shared/testdata/README.md; the faults of the full form are in pipeline.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REAL_DELPHES } from '../helpers/testdata.js';
import { ClusterStack, clusterInput, runDeadlineS, UNAVAILABLE, uploadRealDelphes } from './harness.js';

const SKIP = UNAVAILABLE ? `multi-host test needs network namespaces: ${UNAVAILABLE}` : false;
const SAMPLES = ['ttbar', 'wjets'] as const;

let c: ClusterStack;

before(async () => {
  if (SKIP) return;
  c = await ClusterStack.start(3);
  await uploadRealDelphes(c, SAMPLES);
});

after(async () => {
  await c?.stop();
});

test('a worker host killed during features: the run completes on the other hosts with every event', {
  skip: SKIP,
  timeout: 10 * 60_000,
}, async () => {
  let killed: string | undefined;
  const r = await c.stack.runPipeline(
    'cluster-ci-kill',
    clusterInput(c, 'ci-kill', SAMPLES, 1),
    async (handle) => {
      killed = await c.hostRunning(handle.workflowId, 'prepareFileFeatures');
      await c.killHost(killed);
    },
    (h) => c.resultWithin(h, runDeadlineS(8 * 60)),
  );
  assert.ok(killed, 'a host was killed');
  assert.deepEqual(c.net.pids(killed), [], `nothing left running on ${killed}`);
  assert.ifError(r.error);
  const rep = r.report!;
  assert.equal(rep.features.failed, 0);
  assert.equal(rep.features.counters.read, REAL_DELPHES.ttbar.entries + REAL_DELPHES.wjets.entries, 'every event read');
  assert.equal(
    rep.features.counters.rows,
    REAL_DELPHES.ttbar.selected + REAL_DELPHES.wjets.selected,
    'the cut flow of the README',
  );
  assert.ok(r.parts.length > 0 && r.dataset.length > 0, 'feature parts and dataset written');
  assert.equal(rep.models[0]!.best.epochsCompleted, 1, 'fully trained');
  console.log(`cluster ci: ${killed} killed during features; run completed in ${r.seconds.toFixed(0)} s`);
});
