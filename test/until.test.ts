import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './helpers/until.js';

test('until returns the first truthy value, or the state its holds accepts', async () => {
  let n = 0;
  assert.equal(await until(() => ++n >= 3 && n, { what: 'three polls', deadline: 10_000, every: 1 }), 3);
  let m = 0;
  const state = await until(() => ({ queued: ++m }), {
    holds: (s) => s.queued === 2,
    what: 'two',
    deadline: 10_000,
    every: 1,
  });
  assert.deepEqual(state, { queued: 2 });
});

test('until fails past its deadline naming what it waited for, the last value and the context', async () => {
  let polls = 0;
  await assert.rejects(
    until(() => ({ queued: ++polls }), {
      holds: () => false,
      what: 'the queue to drain',
      deadline: 50,
      every: 5,
      context: () => 'worker output: idle',
    }),
    (e: Error) => {
      assert.match(
        e.message,
        /^gave up waiting for the queue to drain after 0.05 s; last value: \{ queued: (\d+) \}\nworker output: idle$/,
      );
      assert.equal(Number(/queued: (\d+)/.exec(e.message)?.[1]), polls);
      return true;
    },
  );
  await assert.rejects(
    until(() => '', { what: 'a name', deadline: 0 }),
    /gave up waiting for a name after 0 s; last value: ''$/,
  );
});
