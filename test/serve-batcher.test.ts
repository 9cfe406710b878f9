// Adaptive batching: with no delay configured nothing waits on a timer (setTimeout is
// mocked and never advanced, so a timer on the idle path would hang the test); items
// submitted in one event-loop turn share a batch, and items that arrive while a batch
// runs form the next one, up to maxBatch.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher } from '../src/serving/micro-batcher.js';

test('no delay: a lone item runs at once, batches form only from what queued while the model ran', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const sizes: number[] = [];
    const observed: number[] = [];
    let release: () => void = () => {};
    let hold = false;
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        sizes.push(items.length);
        if (hold) await new Promise<void>((r) => (release = r));
        return items.map((x) => x * 2);
      },
      { maxBatch: 4, maxDelayMs: 0, maxQueue: 100 },
      (size) => observed.push(size),
    );
    assert.deepEqual(await batcher.submit([1]), [2]);
    // Three callers in the same turn: one call of the model.
    assert.deepEqual(await Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]), [
      [2],
      [4, 6],
      [8],
    ]);
    hold = true;
    const first = batcher.submit([10]);
    await new Promise((r) => setImmediate(r));
    assert.equal(batcher.queued, 0, 'the first item runs without waiting for company');
    hold = false;
    const later = [batcher.submit([11, 12]), batcher.submit([13, 14, 15]), batcher.submit([16])];
    assert.equal(batcher.queued, 6);
    release();
    assert.deepEqual(await first, [20]);
    assert.deepEqual(await Promise.all(later), [[22, 24], [26, 28, 30], [32]]);
    assert.deepEqual(sizes, [1, 4, 1, 4, 2]);
    assert.deepEqual(observed, sizes);
    await batcher.drain();
  } finally {
    mock.timers.reset();
  }
});

test('a delay still waits to fill a batch, and drain runs what waits at once', async () => {
  const sizes: number[] = [];
  const batcher = new MicroBatcher<number, number>(
    async (items) => {
      sizes.push(items.length);
      return items;
    },
    { maxBatch: 100, maxDelayMs: 600_000, maxQueue: 100 },
  );
  const waiting = [batcher.submit([1]), batcher.submit([2])];
  await new Promise((r) => setImmediate(r));
  assert.equal(batcher.queued, 2);
  await batcher.drain();
  assert.deepEqual(await Promise.all(waiting), [[1], [2]]);
  assert.deepEqual(sizes, [2]);
});
