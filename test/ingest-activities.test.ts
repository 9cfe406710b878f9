import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../activities/index.js';
import { Storage } from '../src/storage/index.js';
import { openRootFile } from '../src/root/reader/index.js';
import type { FileResult, FileTask } from '../src/contract/fan-out.js';
import { HZZ, sharedFile } from './helpers/testdata.js';

/** MockActivityEnvironment.run with the activity's own types. */
const run = <A, R>(fn: (input: A) => Promise<R>, input: A): Promise<R> =>
  new MockActivityEnvironment().run(fn, input) as Promise<R>;

const store = new Storage();
const { inspectRootFile, listInputFiles, readListingBatch, writeBatchResult, writeManifest } = createActivities({
  storage: store,
  env: {},
});

const ref = (p: string) => ({ uri: pathToFileURL(p).href, size: 0, etag: '' });

test('inspectRootFile summarizes a file through the storage layer', async () => {
  const s = await run(inspectRootFile, { file: ref(sharedFile('uproot-HZZ-zstd.root')), statBranches: ['NMuon'] });
  assert.equal(s.treeName, 'events');
  assert.deepEqual(s.counters, { entries: HZZ.entries });
  assert.equal(s.entries, HZZ.entries);
  assert.equal(s.stats.NMuon!.sum, HZZ.nMuonSum);
});

test('unreadable files fail non-retryably, naming the file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-act-'));
  const truncated = path.join(dir, 'cut.root');
  writeFileSync(truncated, readFileSync(sharedFile('uproot-HZZ.root')).subarray(0, 5000));
  for (const [file, type] of [
    [truncated, 'RootFormatError'],
    [path.join(dir, 'absent.root'), 'ObjectNotFoundError'],
  ] as const) {
    await assert.rejects(
      run(inspectRootFile, { file: ref(file), statBranches: [] }),
      (e: unknown) =>
        e instanceof ApplicationFailure && e.nonRetryable && e.type === type && e.message.includes(path.basename(file)),
    );
  }
});

/**
 * Copies of a real file with basket 0 of `branch` damaged: bytes flipped inside its
 * compressed data, or its declared uncompressed length (key and block header) raised
 * by 8 bytes. jsroot reported both as ok, with a count of 0.
 */
async function damagedBasket(file: string, branch: string, dir: string): Promise<{ flipped: string; lying: string }> {
  const full = new Uint8Array(readFileSync(sharedFile(file)));
  const source = await store.openRead(sharedFile(file));
  const seek = (await (await openRootFile(source)).getTree('events')).branch(branch).basketSeek[0]!;
  await source.close();
  const keylen = new DataView(full.buffer).getInt16(seek + 14);
  const flipped = full.slice();
  for (let i = seek + keylen + 40; i < seek + keylen + 48; i++) flipped[i] = flipped[i]! ^ 0x5a;
  const lying = full.slice();
  const view = new DataView(lying.buffer);
  view.setInt32(seek + 6, view.getInt32(seek + 6) + 8); // fObjlen
  const block = seek + keylen;
  const declared = (lying[block + 6]! | (lying[block + 7]! << 8) | (lying[block + 8]! << 16)) + 8;
  lying.set([declared & 0xff, (declared >> 8) & 0xff, declared >> 16], block + 6);
  const out = { flipped: path.join(dir, `flipped-${file}`), lying: path.join(dir, `lying-${file}`) };
  writeFileSync(out.flipped, flipped);
  writeFileSync(out.lying, lying);
  return out;
}

test('a corrupt basket fails the file, naming the file, the branch and the basket; never ok', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-corrupt-'));
  const cases: [string, RegExp][] = [];
  for (const file of ['uproot-HZZ-zlib.root', 'uproot-HZZ-lz4.root', 'uproot-HZZ-zstd.root']) {
    const { flipped, lying } = await damagedBasket(file, 'Jet_Px', dir);
    cases.push([lying, /declared|header says|past the declared|truncated/]);
    // ZSTD frames in ROOT carry no checksum: flipped bytes there may decode to other values.
    if (!file.includes('zstd')) cases.push([flipped, /inflate|checksum|corrupt/]);
  }
  for (const [file, cause] of cases) {
    await assert.rejects(run(inspectRootFile, { file: ref(file), statBranches: ['NMuon', 'Jet_Px'] }), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure && e.nonRetryable, `${file}: ${(e as Error).message}`);
      assert.ok(e.message.includes(path.basename(file)), e.message);
      assert.match(e.message, /basket 0 of branch 'Jet_Px'/);
      assert.match(e.message, cause);
      return true;
    });
  }
});

test('listing is stored in batches and the manifest streams them back in order', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-list-'));
  for (let i = 0; i < 7; i++) writeFileSync(path.join(dir, `f${i}.root`), 'x'.repeat(i));
  writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  const out = pathToFileURL(path.join(dir, 'out')).href;
  const listing = await run(listInputFiles, {
    sources: [{ uri: pathToFileURL(dir).href + '/' }],
    outputUri: out,
    suffix: '.root',
    batchSize: 3,
  });
  assert.deepEqual(listing, { files: 7, batches: 3, bytes: 21 });
  const batches = await Promise.all([0, 1, 2].map((batch) => run(readListingBatch, { outputUri: out, batch })));
  assert.deepEqual(
    batches.map((b) => b.length),
    [3, 3, 1],
  );
  for (const [batch, files] of batches.entries()) {
    const results: FileResult[] = files.map((file) => ({
      status: 'failed',
      file,
      error: `e${file.size}`,
      errorType: 'X',
    }));
    await run(writeBatchResult, { outputUri: out, batch, results });
  }
  const totals = { ok: 0, failed: 7, bytes: 21, counters: {} };
  const task: FileTask = { activity: 'inspectRootFile', params: { statBranches: [] } };
  const { manifestUri } = await run(writeManifest, {
    kind: 'test/v1',
    sources: [{ uri: 'in' }],
    outputUri: out,
    task,
    batches: 3,
    totals,
    perSample: [],
    startedAt: 't0',
    header: {},
  });
  const manifest = await store.readJson<{ kind: string; task: unknown; totals: unknown; files: FileResult[] }>(
    manifestUri,
  );
  assert.equal(manifest.kind, 'test/v1');
  assert.deepEqual(manifest.task, task);
  assert.deepEqual(manifest.totals, totals);
  assert.deepEqual(
    manifest.files.map((f) => f.status === 'failed' && f.error),
    ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6'],
  );
});
