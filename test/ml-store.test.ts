import { test } from 'node:test';
import { Storage } from '../src/storage/index.js';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DirectoryCheckpointStore, ObjectArtifactSink, ObjectCheckpointStore } from '../src/ml/store.js';
import type { CheckpointStore } from '../src/ml/training/checkpoint.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

async function exercise(store: CheckpointStore): Promise<void> {
  assert.equal(await store.loadLatest(), undefined);
  for (const epoch of [1, 2, 3]) {
    await store.save({
      epoch,
      files: { 'state.json': bytes(`{"e":${epoch}}`), 'weights.bin': new Uint8Array([epoch, 0, 255]) },
    });
  }
  const latest = await store.loadLatest();
  assert.equal(latest?.epoch, 3);
  assert.equal(text(latest?.files['state.json']), '{"e":3}');
  assert.deepEqual(Array.from(latest.files['weights.bin']!), [3, 0, 255]);
  await assert.rejects(store.save({ epoch: 4, files: { '../escape': bytes('x') } }), /unsafe .* file name/);
}

test('directory checkpoint store: latest wins, old ones pruned, half-written ignored', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hepflow-ml-store-'));
  await exercise(new DirectoryCheckpointStore(dir));
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('epoch')),
    ['epoch-000002', 'epoch-000003'],
  );
});

test('object-storage checkpoint store (file:// URIs): only complete checkpoints count', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hepflow-ml-ostore-'));
  const prefix = pathToFileURL(path.join(dir, 'ckpt')).href;
  const store = new ObjectCheckpointStore(prefix, new Storage());
  await exercise(store);
  // Objects of the pruned epoch are gone (file:// may leave the empty directory behind).
  assert.deepEqual(await readdir(path.join(dir, 'ckpt', 'epoch-000001')).catch(() => []), []);
  assert.deepEqual((await readdir(path.join(dir, 'ckpt', 'epoch-000003'))).sort(), [
    'COMPLETE',
    'state.json',
    'weights.bin',
  ]);
  // A crash while writing epoch 9: its files exist but no COMPLETE marker.
  await mkdir(path.join(dir, 'ckpt', 'epoch-000009'));
  await writeFile(path.join(dir, 'ckpt', 'epoch-000009', 'state.json'), '{"e":9}');
  assert.equal((await store.loadLatest())?.epoch, 3);

  const sink = new ObjectArtifactSink(pathToFileURL(path.join(dir, 'model')).href, new Storage());
  await sink.put('model.json', bytes('{}'));
  assert.deepEqual(await readdir(path.join(dir, 'model')), ['model.json']);
});
