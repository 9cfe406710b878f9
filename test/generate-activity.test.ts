import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { GenerateFileInput, GenerateFileResult } from '../activities/generate.js';
import { createActivities } from '../activities/index.js';
import { Storage, type RandomAccessSource } from '../src/storage/index.js';
import { openRootFile } from '../src/root/reader/index.js';

const store = new Storage();
const { generateFile } = createActivities({ storage: store, env: {} });
const run = (input: GenerateFileInput) =>
  new MockActivityEnvironment().run(generateFile, input) as Promise<GenerateFileResult>;

test('generateFile writes a readable Delphes file with labels, and reuses it on rerun', async () => {
  const dir = pathToFileURL(mkdtempSync(path.join(os.tmpdir(), 'hepflow-gen-'))).href;
  const input = { uri: `${dir}/part-0.root`, seed: 7, firstEvent: 100, events: 40, mix: 'balanced' };
  const first = await run(input);
  assert.equal(first.reused, false);
  assert.equal(first.events, 40);
  assert.equal(
    Object.values(first.classCounts).reduce((a, b) => a + b, 0),
    40,
  );
  const source: RandomAccessSource = await store.openRead(input.uri);
  const tree = await (await openRootFile(source)).getTree('Delphes');
  assert.equal(tree.numEntries, 40);
  await source.close();
  const labels = await store.readJson<{ labels: number[]; firstEvent: number }>(`${dir}/part-0.labels.json`);
  assert.equal(labels.labels.length, 40);
  assert.equal(labels.firstEvent, 100);
  const second = await run(input);
  assert.deepEqual({ ...second, reused: false }, first);
  assert.equal(second.reused, true);
});

test('generateFile rejects bad arguments without retrying', async () => {
  const dir = pathToFileURL(mkdtempSync(path.join(os.tmpdir(), 'hepflow-gen-'))).href;
  await assert.rejects(
    run({ uri: `${dir}/x.root`, seed: 1, firstEvent: 0, events: 5, mix: 'nonsense=1' }),
    (e: unknown) => e instanceof ApplicationFailure && e.nonRetryable && /unknown class "nonsense"/.test(e.message),
  );
});
