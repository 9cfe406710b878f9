/**
 * PairConeSums (every candidate's cone sums, each pair tested once; used by the particle
 * sequence) against ConeIndex.sumInCone (one cone per query; used for the lepton), on
 * every candidate of the real Delphes events with pile-up and on a synthetic event with
 * the grid's edge cases. The two must agree to the bit: the feature files must not
 * change with the algorithm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ConeIndex, PairConeSums, TRACK_PT_MIN, TOWER_ET_MIN } from '../src/physics/isolation.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import { makeEvent } from './helpers/physics-fixtures.js';
import { repoRoot } from './helpers/root-writer-helpers.js';
import { localSource } from './helpers/testdata.js';

/** Compares both methods on one event; returns the number of candidates checked. */
function check(event: DelphesEvent, what: string): number {
  const t = new ConeIndex();
  const p = new ConeIndex();
  const n = new ConeIndex();
  t.build(event.tracks.pt, event.tracks.eta, event.tracks.phi, TRACK_PT_MIN);
  p.build(event.photons.et, event.photons.eta, event.photons.phi, TOWER_ET_MIN);
  n.build(event.neutralHadrons.et, event.neutralHadrons.eta, event.neutralHadrons.phi, TOWER_ET_MIN);
  const pairs = new PairConeSums();
  pairs.build(t, p, n);
  const indices = [t, p, n];
  let checked = 0;
  indices.forEach((index, kind) => {
    for (let k = 0; k < index.n; k++) {
      const eta = index.eta[k]!;
      const phi = index.phi[k]!;
      const src = index.src[k]!;
      const at = 3 * (pairs.base[kind]! + k);
      indices.forEach((other, c) => {
        const expected = other.sumInCone(eta, phi, c === kind ? src : -1);
        const got = pairs.sums[at + c]!;
        if (got !== expected)
          assert.fail(`${what}: collection ${kind} candidate ${src}, sum over collection ${c}: ${got} != ${expected}`);
      });
      checked++;
    }
  });
  return checked;
}

test('pair cone sums equal per-candidate cone sums to the bit on real pile-up events', async () => {
  let events = 0;
  let candidates = 0;
  for (const cls of ['qcd', 'ttbar', 'wjets']) {
    const file = resolve(repoRoot(), `../shared/testdata/delphes/delphes-pu20-${cls}.root`);
    const src = await localSource(file);
    try {
      for await (const chunk of readDelphesEvents(src)) {
        chunk.events.forEach((e, i) => {
          candidates += check(e, `${cls} entry ${chunk.entryStart + i}`);
          events++;
        });
      }
    } finally {
      await src.close();
    }
  }
  assert.equal(events, 300);
  // ~800 candidates per pile-up event: the comparison covers hundreds of thousands of cones.
  assert.ok(candidates > 150_000, `only ${candidates} candidates checked`);
});

test('pair cone sums: φ wrap-around, cell edges, |η| beyond the grid, coincident candidates', () => {
  const ring = (eta: number, pt: number) =>
    Array.from({ length: 40 }, (_, i) => ({ pt, eta, phi: -Math.PI + (i * 2 * Math.PI) / 40 }));
  const towers = (eta: number, et: number) => ring(eta, et).map(({ pt, ...r }) => ({ ...r, et: pt }));
  const event = makeEvent({
    tracks: [
      ...ring(0, 1),
      ...ring(0.29, 2),
      ...ring(-0.3, 3),
      { pt: 5, eta: 0, phi: Math.PI },
      { pt: 6, eta: 0, phi: -Math.PI },
      { pt: 7, eta: 0.1, phi: 3.1 },
      { pt: 8, eta: 7.5, phi: 0 },
      { pt: 9, eta: 7.6, phi: 0.1 },
      { pt: 10, eta: 5.9, phi: 0 },
      { pt: 11, eta: -8, phi: 1 },
      { pt: 12, eta: -8, phi: 1 },
      { pt: 0.5, eta: 0, phi: 0 },
    ],
    photons: [
      ...towers(0.15, 1.5),
      { et: 2, eta: 0, phi: Math.PI },
      { et: 3, eta: 7.7, phi: 0 },
      { et: 1, eta: 0, phi: 0 },
    ],
    neutrals: [...towers(-0.15, 2.5), { et: 4, eta: -8.1, phi: 1.05 }, { et: 5, eta: 0.3, phi: 0.3 }],
  });
  assert.ok(check(event, 'synthetic') > 200);
});
