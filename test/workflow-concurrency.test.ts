import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapBounded } from '../workflows/concurrency.js';

test('mapBounded keeps order and never exceeds the limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const delays = [30, 5, 20, 1, 15, 2, 8, 12, 3];
  const out = await mapBounded(delays, 3, async (d, i) => {
    peak = Math.max(peak, ++inFlight);
    await new Promise((r) => setTimeout(r, d));
    inFlight--;
    return i * 10;
  });
  assert.deepEqual(
    out,
    delays.map((_, i) => i * 10),
  );
  assert.equal(peak, 3);
  assert.deepEqual(await mapBounded([], 4, async () => 1), []);
});
