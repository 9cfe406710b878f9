/**
 * The benchmark's Python peer of the feature stage (bench/peers/features_peer.py:
 * uproot + numba + pyarrow) must write the same feature file as hepflow, value for
 * value, or the benchmark compares different work. Checked here on a generated file
 * (with the crosscheck's edge cases: φ wrap, thresholds, several leptons) and on a
 * real Delphes file with pile-up, with bench/peers/features_compare.py (schema, rows,
 * lineage columns, every float within float32 precision).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventStream } from '../src/generator/index.js';
import { DelphesFileWriter } from '../src/delphes/writer.js';
import { FileSink } from '../src/root/writer/sink.js';
import { Storage } from '../src/storage/index.js';
import { writeFeatureFile } from '../src/stages/features.js';
import { makeEvent, FILLER } from './helpers/physics-fixtures.js';
import { repoRoot } from './helpers/root-writer-helpers.js';

const PYTHON = resolve(repoRoot(), '.tools/venv/bin/python');

async function hepflowAndPeer(
  root: string,
  dir: string,
): Promise<{ rows: number; particles: number; max_rel: number; mismatches: unknown[] }> {
  const store = new Storage();
  const uri = pathToFileURL(root).href;
  const info = await store.head(uri);
  assert.ok(info);
  const ours = join(dir, 'hepflow.parquet');
  const theirs = join(dir, 'peer.parquet');
  const { rows } = await writeFeatureFile(
    store,
    info,
    { labels: { from: 'class', className: 'ttbar', label: 1 } },
    pathToFileURL(ours).href,
  );
  execFileSync(
    PYTHON,
    ['bench/peers/features_peer.py', root, theirs, '--label', '1', '--class', 'ttbar', '--source-uri', uri],
    { cwd: repoRoot(), encoding: 'utf8' },
  );
  let out: string;
  try {
    out = execFileSync(PYTHON, ['bench/peers/features_compare.py', ours, theirs], {
      cwd: repoRoot(),
      encoding: 'utf8',
    });
  } catch (e) {
    assert.fail(`peer and hepflow differ: ${(e as { stdout?: string }).stdout}`);
  }
  const r = JSON.parse(out);
  assert.equal(r.rows, rows);
  return r;
}

test("the Python peer writes hepflow's feature file, value for value (generated events and edge cases)", {
  timeout: 300_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-peer-'));
  try {
    const root = join(dir, 'gen.root');
    const w = new DelphesFileWriter(await FileSink.create(root), { fileName: 'gen.root' });
    for (const g of eventStream({ events: 400, seed: 21, mix: 'balanced' })) await w.fill(g.event);
    // φ wrap in the lepton's cone, the lepton at exactly 23 GeV, several leptons.
    await w.fill(
      makeEvent({
        ...FILLER,
        met: { met: 20, phi: 1 },
        electrons: [{ pt: 40, eta: 0.5, phi: 3.1, charge: 1 }],
        photons: [{ et: 5, eta: 0.5, phi: -3.1 }, ...FILLER.photons!],
      }),
    );
    await w.fill(
      makeEvent({
        ...FILLER,
        met: { met: 20, phi: 1 },
        electrons: [
          { pt: 23, eta: 0, phi: 0, charge: 1 },
          { pt: 30, eta: 1, phi: 1, charge: -1 },
        ],
        muons: [{ pt: 30, eta: -1, phi: 2, charge: 1 }],
      }),
    );
    await w.close();
    const r = await hepflowAndPeer(root, dir);
    assert.ok(r.rows > 100 && r.particles > 10_000, `only ${r.rows} rows, ${r.particles} particles: too weak a check`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the Python peer writes hepflow's feature file, value for value (real Delphes events with pile-up)", {
  timeout: 300_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-peer-'));
  try {
    const r = await hepflowAndPeer(resolve(repoRoot(), '../shared/testdata/delphes/delphes-pu20-ttbar.root'), dir);
    assert.equal(r.rows, 66);
    assert.ok(r.particles > 30_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
