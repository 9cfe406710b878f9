import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareFeatures, withEntries, type EventWithEntry } from '../src/physics/prepare.js';
import { HLF } from '../src/physics/hlf.js';
import { N_PARTICLE_FEATURES, type FeatureRow } from '../src/physics/schema.js';
import { makeEvent, FILLER, type EventSpec } from './helpers/physics-fixtures.js';

const good: EventSpec = { electrons: [{ pt: 40, eta: 0, phi: 0, charge: 1 }], met: { met: 20, phi: 2 }, ...FILLER };
const noLepton: EventSpec = { ...FILLER };

async function* chunks(...cs: EventWithEntry[][]): AsyncGenerator<EventWithEntry[]> {
  yield* cs;
}

test('prepareFeatures: rows carry label, class, lineage; progress after each chunk; cut flow returned', async () => {
  const rows: FeatureRow[] = [];
  const progress: number[] = [];
  const cutFlow = await prepareFeatures({
    events: chunks(
      [
        { event: makeEvent(good), entry: 10 },
        { event: makeEvent(noLepton), entry: 11 },
      ],
      [{ event: makeEvent(good), entry: 12 }],
    ),
    label: 2,
    className: 'wjets',
    sourceUri: 's3://raw/w-0.root',
    out: {
      write: async (r) => {
        rows.push(r);
      },
    },
    onProgress: (cf) => {
      progress.push(cf.read);
    },
  });
  assert.deepEqual(cutFlow, { read: 3, withTrack: 3, withPhoton: 3, withNeutralHadron: 3, withIsolatedLepton: 2 });
  assert.deepEqual(progress, [2, 3]);
  assert.deepEqual(
    rows.map((r) => [r.label, r.className, r.sourceUri, r.sourceEntry]),
    [
      [2, 'wjets', 's3://raw/w-0.root', 10],
      [2, 'wjets', 's3://raw/w-0.root', 12],
    ],
  );
  // Each row owns its HLF (the extractor's buffer is reused) and has 4 particles.
  assert.notEqual(rows[0]!.hlf, rows[1]!.hlf);
  assert.equal(rows[0]!.hlf[HLF.LepPt], 40);
  assert.equal(rows[0]!.particles.length, 4 * N_PARTICLE_FEATURES);
});

test('prepareFeatures: a bad event fails naming the file and entry', async () => {
  await assert.rejects(
    prepareFeatures({
      events: withEntries(chunksOf([makeEvent(good), makeEvent({ ...good, met: null })], 100)),
      label: 0,
      className: 'qcd',
      sourceUri: 'file:///x.root',
      out: { write: async () => undefined },
    }),
    /file:\/\/\/x\.root entry 101: selected event has no MissingET entry/,
  );
  await assert.rejects(
    prepareFeatures({
      events: chunks(),
      label: -1,
      className: 'qcd',
      sourceUri: 'u',
      out: { write: async () => undefined },
    }),
    /label must be a non-negative integer/,
  );
});

async function* chunksOf(events: ReturnType<typeof makeEvent>[], entryStart: number) {
  yield { entryStart, events };
}
