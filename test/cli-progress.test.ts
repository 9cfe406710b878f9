import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusLine } from '../cli/progress.js';

/** A stream that records what was written, a terminal or not. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { out: { isTTY, write: (s: string) => chunks.push(s) > 0 } as unknown as NodeJS.WriteStream, chunks };
}

test('status line in a log: one line per step with its last state, no carriage returns', () => {
  const { out, chunks } = sink(false);
  let now = 0;
  const s = new StatusLine(out, 30_000, () => now);
  s.update('a.root', 'a.root: 100 events read');
  s.update('a.root', 'a.root: 200 events read');
  s.update('b.root', 'b.root: 50 events read');
  s.log('a message');
  now = 31_000;
  s.update('b.root', 'b.root: 900 events read');
  s.update('b.root', 'b.root: 1000 events read');
  s.end();
  s.end();
  assert.deepEqual(chunks.join('').split('\n'), [
    'a.root: 200 events read',
    'a message',
    'b.root: 900 events read',
    'b.root: 1000 events read',
    '',
  ]);
  assert.ok(!chunks.join('').includes('\r'));
});

test('status line on a terminal: the step rewritten in place, a newline when it ends, messages above it', () => {
  const { out, chunks } = sink(true);
  const s = new StatusLine(out);
  s.update('epoch 0', 'epoch 1/2 batch 1');
  s.update('epoch 0', 'epoch 1/2 batch 2');
  s.log('checkpoint written');
  s.update('epoch 1', 'epoch 2/2 batch 1');
  s.end();
  assert.deepEqual(chunks, [
    '\repoch 1/2 batch 1\x1b[K',
    '\repoch 1/2 batch 2\x1b[K',
    '\r\x1b[Kcheckpoint written\nepoch 1/2 batch 2',
    '\n',
    '\repoch 2/2 batch 1\x1b[K',
    '\n',
  ]);
});
