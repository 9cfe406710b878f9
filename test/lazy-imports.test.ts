/**
 * What a features run loads: `hepflow features` on local files, and a worker's
 * activities, must not load TensorFlow.js, the AWS SDK or Temporal's client/worker (the
 * CLI once spent ~2 s loading them before its stage began). The imports are made to fail
 * (test/helpers/forbid-heavy-imports.ts), so any such import breaks the run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const FORBID_HEAVY = pathToFileURL(path.resolve('dist/test/helpers/forbid-heavy-imports.js')).href;
const NOT_FOR_FEATURES = '@tensorflow,@aws-sdk,@temporalio/client,@temporalio/worker,@temporalio/proto,kafkajs';

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', FORBID_HEAVY, ...args],
      { env: { ...process.env, HEPFLOW_FORBID_IMPORTS: NOT_FOR_FEATURES } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('lazy imports', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'hepflow-lazy-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('the forbidding hook does catch a forbidden import', async () => {
    const r = await node(['--input-type=module', '-e', "await import('@tensorflow/tfjs')"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /heavy module loaded: .*@tensorflow/);
  });

  it('hepflow features on local files loads neither TensorFlow.js, nor the AWS SDK, nor Temporal client/worker', async () => {
    const r = await node([
      'dist/cli/hepflow.js',
      'features',
      '--sample',
      'qcd=../shared/testdata/delphes/delphes-qcd.root',
      '--sample',
      'wjets=../shared/testdata/delphes/delphes-wjets.root',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as object;
    assert.ok(manifest, 'the run wrote its manifest');
  });

  it("a worker's activities load without TensorFlow.js or the AWS SDK", async () => {
    const r = await node([
      '--input-type=module',
      '-e',
      "const { createActivities } = await import('./dist/activities/index.js'); console.log(Object.keys(createActivities({ storage: null, env: {} })).length)",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout) > 10, r.stdout);
  });
});
