import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventStream } from '../src/generator/index.js';
import { generateDelphesFile, labelsPathFor, readLabels } from '../src/generator/file.js';
import { type DelphesEvent } from '../src/contract/delphes-event.js';
import { labelOf } from '../src/physics/schema.js';
import { projectRoot } from '../src/paths.js';

const repo = projectRoot;
const python = join(repo, '.tools', 'venv', 'bin', 'python');

/** DelphesEvent collection and leaf for each branch the uproot script dumps. */
const LEAVES: Record<string, [keyof DelphesEvent, string]> = {
  'Electron.PT': ['electrons', 'pt'],
  'Electron.Charge': ['electrons', 'charge'],
  'MuonTight.PT': ['muons', 'pt'],
  'Jet.PT': ['jets', 'pt'],
  'Jet.Mass': ['jets', 'mass'],
  'Jet.BTag': ['jets', 'btag'],
  'MissingET.MET': ['missingEt', 'met'],
  'MissingET.Phi': ['missingEt', 'phi'],
  'EFlowTrack.PT': ['tracks', 'pt'],
  'EFlowTrack.PID': ['tracks', 'pid'],
  'EFlowTrack.Z': ['tracks', 'z'],
  'EFlowPhoton.ET': ['photons', 'et'],
  'EFlowPhoton.E': ['photons', 'e'],
  'EFlowNeutralHadron.E': ['neutralHadrons', 'e'],
};

test('generateDelphesFile writes a Delphes ROOT file that uproot reads back exactly, plus labels', async (t) => {
  if (!existsSync(python)) {
    t.skip(`no project venv at ${python} (run npm run setup)`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-gen-'));
  try {
    const path = join(dir, 'sample.root');
    const opts = { events: 120, seed: 31, firstEvent: 500, mix: 'balanced' } as const;
    const r = await generateDelphesFile(path, opts);
    assert.equal(r.labelsPath, join(dir, 'sample.labels.json'));
    assert.ok(!existsSync(`${path}.partial`));
    const expected = [...eventStream(opts)];

    const dump = JSON.parse(
      execFileSync(python, [join(repo, 'test', 'python', 'generator_readback.py'), path], { encoding: 'utf8' }),
    ) as {
      entries: number;
      branches: Record<string, { count: number; sum: number; first: number[] }>;
    };
    assert.equal(dump.entries, 120);
    for (const [branch, [coll, leaf]] of Object.entries(LEAVES)) {
      let count = 0;
      let sum = 0;
      for (const g of expected) {
        const values = (g.event[coll] as unknown as Record<string, ArrayLike<number>>)[leaf]!;
        count += values.length;
        for (let i = 0; i < values.length; i++) sum += values[i]!;
      }
      const got = dump.branches[branch]!;
      assert.equal(got.count, count, `${branch} count`);
      assert.ok(Math.abs(got.sum - sum) <= 1e-9 * Math.max(1, Math.abs(sum)), `${branch} sum ${got.sum} vs ${sum}`);
      const first = (expected[0]!.event[coll] as unknown as Record<string, ArrayLike<number>>)[leaf]!;
      assert.deepEqual(got.first, Array.from(first), `${branch} first entry`);
    }

    const labels = await readLabels(r.labelsPath);
    assert.deepEqual(
      labels.labels,
      expected.map((g) => labelOf(g.eventClass)),
    );
    assert.equal(labels.firstEvent, 500);
    assert.equal(labels.seed, 31);
    assert.deepEqual(labels.classCounts, r.classCounts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('labelsPathFor and readLabels validation', async () => {
  assert.equal(labelsPathFor('/a/b/x.root'), '/a/b/x.labels.json');
  assert.equal(labelsPathFor('/a/b/x'), '/a/b/x.labels.json');
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-gen-'));
  try {
    const p = join(dir, 'bad.labels.json');
    await writeFile(p, '{"format":"other"}');
    await assert.rejects(readLabels(p), /bad\.labels\.json: not a labels sidecar/);
    await writeFile(p, '{not json');
    await assert.rejects(readLabels(p), /bad\.labels\.json: cannot read labels sidecar/);
    const good = {
      format: 'hepflow-generator-labels/1',
      classes: ['qcd', 'ttbar', 'wjets'],
      events: 2,
      labels: [0, 7],
    };
    await writeFile(p, JSON.stringify(good));
    await assert.rejects(readLabels(p), /labels\[1\] = 7 is not a class label/);
    await writeFile(p, JSON.stringify({ ...good, labels: [0] }));
    await assert.rejects(readLabels(p), /array of length events/);
    await writeFile(p, JSON.stringify({ ...good, labels: [0, 2] }));
    assert.deepEqual((await readLabels(p)).labels, [0, 2]);
    assert.ok((await readFile(p, 'utf8')).length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
