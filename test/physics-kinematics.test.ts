import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deltaPhi,
  deltaR,
  p4FromPtEtaPhiM,
  transverseMass,
  trackMass,
  MASS_PION,
  MASS_KAON,
  MASS_MUON,
} from '../src/physics/kinematics.js';

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test('Δφ wraps across ±π into [-π, π]', () => {
  close(deltaPhi(3.1, -3.1), 6.2 - 2 * Math.PI); // −0.0832, not 6.2
  close(deltaPhi(-3.1, 3.1), 2 * Math.PI - 6.2);
  close(deltaPhi(0.5, -0.25), 0.75);
  close(deltaPhi(7 * Math.PI + 0.1, 0), -Math.PI + 0.1);
  for (const [a, b] of [
    [3, -3],
    [-3.14, 3.14],
    [1, 2],
    [-2.9, 2.9],
  ] as const) {
    const d = deltaPhi(a, b);
    assert.ok(d >= -Math.PI && d <= Math.PI);
  }
});

test('ΔR across the φ boundary uses the short way round', () => {
  close(deltaR(0.3, 3.1, 0, -3.1), Math.hypot(0.3, 2 * Math.PI - 6.2));
  close(deltaR(1, 0, -1, 0), 2);
});

test('p4 from pT, η, φ, m', () => {
  const out = new Float64Array(4);
  p4FromPtEtaPhiM(10, 1, Math.PI / 2, 0.5, out);
  const pz = 10 * Math.sinh(1);
  close(out[1]!, 10 * Math.cos(Math.PI / 2));
  close(out[2]!, 10);
  close(out[3]!, pz);
  close(out[0]!, Math.sqrt(100 + pz * pz + 0.25));
});

test('MT is √(2 pT MET (1 − cos Δφ)), in GeV', () => {
  close(transverseMass(40, 0, 30, Math.PI / 2), Math.sqrt(2400)); // 48.99, not 2400
  close(transverseMass(40, 0, 30, Math.PI), Math.sqrt(4800));
  close(transverseMass(40, 1, 30, 1), 0);
  // Back-to-back across the boundary: same as Δφ = π.
  close(transverseMass(40, 3.0, 30, 3.0 - Math.PI), Math.sqrt(4800));
});

test('track mass hypotheses per |PID|', () => {
  assert.equal(trackMass(-13), MASS_MUON);
  assert.equal(trackMass(321), MASS_KAON);
  assert.equal(trackMass(211), MASS_PION);
  assert.equal(trackMass(0), MASS_PION);
});

test('packed keys sort by float32 value, then index, and give the index back', async () => {
  const { pack, packedIndex, MAX_PACKED_INDEX } = await import('../src/physics/packed-sort.js');
  const values = [2.5, -1.25, 0, 2.5, -3, 1e-3, 2.5];
  const keys = Float64Array.from(values, (v, i) => pack(v, i)).sort();
  assert.deepEqual(Array.from(keys, packedIndex), [4, 1, 2, 5, 0, 3, 6]);
  assert.equal(packedIndex(pack(Math.fround(-2.6), MAX_PACKED_INDEX)), MAX_PACKED_INDEX);
  // Values closer than float32 resolution tie and fall back to the index.
  assert.deepEqual(Array.from(Float64Array.of(pack(1 + 1e-9, 0), pack(1, 1)).sort(), packedIndex), [0, 1]);
});
