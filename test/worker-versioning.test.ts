/**
 * Worker Versioning settings at the edge (HEPFLOW_WORKER_VERSIONING, HEPFLOW_DEPLOYMENT_NAME,
 * HEPFLOW_BUILD_ID) and the default build id: the same workflow code gives the same id
 * from any working directory, other code another id. The upgrade itself:
 * test/rolling-upgrade.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { packageVersion } from '../src/paths.js';
import { deploymentNameOf, deploymentOptions, versioningSettings } from '../src/temporal/versioning.js';
import { bundleWorkflows, defaultBuildId } from '../src/temporal/workflow-bundle.js';
import { workerOptions } from '../workers/worker-options.js';

test('HEPFLOW_WORKER_VERSIONING is opt-in; bad values name the variable and the value', () => {
  assert.equal(versioningSettings({}), undefined);
  assert.equal(versioningSettings({ HEPFLOW_WORKER_VERSIONING: '0', HEPFLOW_BUILD_ID: 'x' }), undefined);
  assert.deepEqual(versioningSettings({ HEPFLOW_WORKER_VERSIONING: '1' }), { deploymentName: 'hepflow' });
  assert.deepEqual(
    versioningSettings({
      HEPFLOW_WORKER_VERSIONING: '1',
      HEPFLOW_DEPLOYMENT_NAME: 'hep-prod',
      HEPFLOW_BUILD_ID: 'v2.1',
    }),
    { deploymentName: 'hep-prod', buildId: 'v2.1' },
  );
  assert.throws(
    () => versioningSettings({ HEPFLOW_WORKER_VERSIONING: 'yes' }),
    /HEPFLOW_WORKER_VERSIONING .*got 'yes'/,
  );
  for (const bad of ['hep.prod', 'a:b', '__hep', ''])
    assert.throws(
      () => versioningSettings({ HEPFLOW_WORKER_VERSIONING: '1', HEPFLOW_DEPLOYMENT_NAME: bad }),
      new RegExp(`HEPFLOW_DEPLOYMENT_NAME .*got '${bad}'`),
    );
  assert.throws(
    () => versioningSettings({ HEPFLOW_WORKER_VERSIONING: '1', HEPFLOW_BUILD_ID: 'x'.repeat(256) }),
    /HEPFLOW_BUILD_ID must be 1-255 characters/,
  );
  // The CLI checks the name whether or not this process's workers are versioned.
  assert.throws(() => deploymentNameOf({ HEPFLOW_DEPLOYMENT_NAME: 'a.b' }), /HEPFLOW_DEPLOYMENT_NAME/);
  // A worker's settings carry it; a bad value stops the worker before it connects.
  assert.deepEqual(workerOptions('cpu', [], { HEPFLOW_WORKER_VERSIONING: '1' }).versioning, {
    deploymentName: 'hepflow',
  });
  assert.equal(workerOptions('cpu', [], {}).versioning, undefined);
  assert.throws(() => workerOptions('gpu', [], { HEPFLOW_WORKER_VERSIONING: 'true' }), /HEPFLOW_WORKER_VERSIONING/);
});

test('the default build id is the version and a hash of the bundled workflow code, whatever the working directory', async () => {
  const logger = new DefaultLogger('WARN');
  const here = await bundleWorkflows(logger);
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'upgrade-cwd-'));
  const cwd = process.cwd();
  let there;
  try {
    process.chdir(elsewhere);
    there = await bundleWorkflows(logger);
  } finally {
    process.chdir(cwd);
    rmSync(elsewhere, { recursive: true, force: true });
  }
  const id = defaultBuildId(here);
  assert.match(id, new RegExp(`^${packageVersion().replaceAll('.', '\\.')}-[0-9a-f]{12}$`));
  assert.equal(defaultBuildId(there), id);
  assert.notEqual(defaultBuildId({ code: `${here.code}\n` }), id, 'any change of the code changes the id');
  assert.deepEqual(deploymentOptions({ deploymentName: 'hepflow' }, here), {
    useWorkerVersioning: true,
    version: { deploymentName: 'hepflow', buildId: id },
    defaultVersioningBehavior: 'PINNED',
  });
  assert.equal(deploymentOptions({ deploymentName: 'hepflow', buildId: 'v7' }, here).version.buildId, 'v7');
});
