import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Storage } from '../src/storage/index.js';
import { canonicalJson, commit, configHash, derivedKey, readCommitted } from '../src/storage/content-address.js';

test('hashes ignore key order but not values', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, 2], c: null } }), '{"a":{"c":null,"d":[1,2]},"b":1}');
  assert.equal(configHash({ a: 1, b: 2 }), configHash({ b: 2, a: 1 }));
  assert.notEqual(configHash({ a: 1 }), configHash({ a: 2 }));
  const input = { uri: 's3://b1b/x.root', etag: 'e1', size: 10 };
  assert.equal(derivedKey(input, { v: 1 }), derivedKey({ ...input }, { v: 1 }));
  assert.notEqual(derivedKey(input, { v: 1 }), derivedKey({ ...input, etag: 'e2' }, { v: 1 }));
  assert.notEqual(derivedKey(input, { v: 1 }), derivedKey(input, { v: 2 }));
});

test('an output counts as complete only with a matching commit record', async () => {
  const store = new Storage();
  const dir = pathToFileURL(mkdtempSync(path.join(os.tmpdir(), 'hepflow-ca-'))).href;
  const out = `${dir}/part.parquet`;
  const rec = `${dir}/part.commit.json`;
  assert.equal(await readCommitted(store, rec), undefined, 'nothing written yet');
  await store.write(out, 'partial');
  assert.equal(await readCommitted(store, rec), undefined, 'output without commit record (crash before commit)');
  await commit(store, rec, out, { rows: 3 });
  assert.deepEqual((await readCommitted<{ rows: number }>(store, rec))?.meta, { rows: 3 });
  await store.write(out, 'replaced with other content');
  assert.equal(await readCommitted(store, rec), undefined, 'output changed after commit');
  await assert.rejects(commit(store, `${dir}/x.json`, `${dir}/missing.parquet`, {}), /does not exist/);
});
