/**
 * Cross-check of selection and HLF against an independent Python implementation
 * (test/python/features_reference.py: uproot + awkward), on one ROOT file written by
 * hepflow's ROOT writer: generated events of all three classes plus hand-built edge
 * cases (φ wrap, thresholds, several leptons). Both read the same file through
 * different readers (our src/root/reader vs uproot).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventStream } from '../src/generator/index.js';
import { DelphesFileWriter } from '../src/delphes/writer.js';
import { FileSink } from '../src/root/writer/sink.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { prepareFeatures, withEntries } from '../src/physics/prepare.js';
import { HLF_NAMES, type FeatureRow } from '../src/physics/schema.js';
import { makeEvent, FILLER, type EventSpec } from './helpers/physics-fixtures.js';
import { localSource } from './helpers/testdata.js';

const PYTHON = resolve('.tools/venv/bin/python');

const edgeCases: EventSpec[] = [
  {
    electrons: [{ pt: 40, eta: 0.5, phi: 3.1, charge: 1 }],
    photons: [{ et: 5, eta: 0.5, phi: -3.1 }, ...FILLER.photons!],
    jets: [
      { pt: 30, eta: 0 },
      { pt: 30.5, eta: -2.59, btag: 1 },
    ],
  },
  {
    muons: [
      { pt: 40, eta: 0, phi: 0, charge: -1 },
      { pt: 60, eta: 1, phi: 2, charge: 1 },
    ],
    electrons: [{ pt: 50, eta: -1, phi: -2, charge: -1 }],
    tracks: [
      { pt: 40, eta: 0, phi: 0.001, charge: -1, pid: 13 },
      { pt: 60, eta: 1, phi: 2, charge: 1, pid: -13 },
      { pt: 20, eta: 1.1, phi: 2.1 },
      ...FILLER.tracks!,
    ],
  },
  { electrons: [{ pt: 23, eta: 0, phi: 0, charge: 1 }] },
  { electrons: [{ pt: 30, eta: 0, phi: 0, charge: 1 }], neutrals: [{ et: 0.9, eta: 1, phi: 1 }] },
  {
    muons: [{ pt: 35, eta: 2.3, phi: -3.0, charge: 1 }],
    met: { met: 55, phi: 0.2 },
    neutrals: [{ et: 3, eta: 2.4, phi: 3.2 - 2 * Math.PI }, ...FILLER.neutrals!],
  },
].map((s) => ({ met: { met: 25, phi: -1 }, ...FILLER, ...s }));

test('selection and HLF agree with the uproot + awkward reference to float32 precision', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hepflow-xcheck-'));
  try {
    const path = join(dir, 'xcheck.root');
    const sink = await FileSink.create(path);
    const w = new DelphesFileWriter(sink, { fileName: 'xcheck.root' });
    for (const g of eventStream({ events: 450, seed: 11, mix: 'balanced' })) await w.fill(g.event);
    for (const s of edgeCases) await w.fill(makeEvent(s));
    await w.close();

    const src = await localSource(path);
    const rows: FeatureRow[] = [];
    const cutFlow = await prepareFeatures({
      events: withEntries(readDelphesEvents(src, { entriesPerChunk: 100 })),
      label: 0,
      className: 'mixed',
      sourceUri: path,
      out: {
        write: async (r) => {
          rows.push(r);
        },
      },
    });
    await src.close();

    const py = JSON.parse(
      execFileSync(PYTHON, ['test/python/features_reference.py', path], { encoding: 'utf8', maxBuffer: 1 << 28 }),
    );
    assert.deepEqual(cutFlow, py.cutflow);
    assert.ok(
      cutFlow.withIsolatedLepton > 150,
      `only ${cutFlow.withIsolatedLepton} events selected: the check is too weak`,
    );
    assert.deepEqual(
      rows.map((r) => r.sourceEntry),
      py.entries,
    );
    // The hand-built events: 450 (φ-wrapped photon), 451 (three leptons), 454 selected; 452/453 dropped.
    assert.deepEqual(
      py.entries.filter((e: number) => e >= 450),
      [450, 451, 454],
    );
    let worst = 0;
    rows.forEach((r, i) => {
      HLF_NAMES.forEach((name, k) => {
        const want = py.hlf[i][k] as number;
        const got = r.hlf[k]!;
        const err = Math.abs(got - want) / Math.max(1, Math.abs(want));
        worst = Math.max(worst, err);
        assert.ok(err <= 2e-6, `entry ${r.sourceEntry} ${name}: ours ${got}, reference ${want}`);
      });
    });
    assert.ok(worst < 2e-6);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
