import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  mergeRecords,
  stampScriptSeconds,
  writeRecord,
  type BenchmarkFile,
  type CarriedFigure,
} from '../bench/lib/record.js';

// Records live under ./.data/bench of the working directory, as when a benchmark runs from the checkout.
const dir = mkdtempSync(path.join(tmpdir(), 'hepflow-bench-record-'));
const cwd = process.cwd();
process.chdir(dir);
after(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

const carried = (benchmark: string): CarriedFigure => ({
  benchmark,
  what: 'x',
  hepflow: '1',
  peer: '2',
  ratio: '0.5×',
});
const record = (name: string) =>
  writeRecord({
    name,
    title: `${name} title`,
    command: `node dist/bench/${name}.js`,
    figures: [
      { what: 'rate', unit: 'events per CPU-s', hepflow: 30, peer: 20, peerName: 'peer', ratio: 1.5, target: 1.5 },
    ],
    tables: [{ title: 't', columns: ['a', 'b'], rows: [['row', 1.234]] }],
    notes: ['a note'],
  });
const read = () => JSON.parse(readFileSync('BENCHMARKS.json', 'utf8')) as BenchmarkFile;

test('a carried figure goes once its benchmark has a record, and the section with the last one', () => {
  writeFileSync(
    'BENCHMARKS.json',
    JSON.stringify({
      format: 1,
      generated: '',
      benchmarks: {},
      notRerun: [carried('root-read'), carried('gru'), carried('gru')],
      notRerunSource: 'Copied from the README.',
    } satisfies BenchmarkFile),
  );
  record('root-read');
  assert.deepEqual(mergeRecords(['root-read', 'gru'], dir), ['root-read']);
  assert.deepEqual(
    read().notRerun?.map((f) => f.benchmark),
    ['gru', 'gru'],
  );
  let md = readFileSync('BENCHMARKS.md', 'utf8');
  assert.match(md, /## Not rerun since the record began/);
  assert.match(
    md,
    /\| root-read \| rate \| 30 events per CPU-s \| 20 events per CPU-s \(peer\) \| 1\.50× \| ≥ 1\.5× \|/,
  );

  record('gru');
  stampScriptSeconds('gru', 125.4);
  assert.deepEqual(mergeRecords(['gru'], dir), ['gru']);
  assert.match(readFileSync('BENCHMARKS.md', 'utf8'), /gru 2 min; 2 min in all \(1 not timed: run alone\)/);
  stampScriptSeconds('root-read', 50);
  mergeRecords(['root-read'], dir);
  const file = read();
  assert.equal(file.notRerun, undefined);
  assert.equal(file.notRerunSource, undefined);
  assert.deepEqual(Object.keys(file.benchmarks).sort(), ['gru', 'root-read']);
  assert.equal(file.benchmarks['gru']!.scriptSeconds, 125);
  md = readFileSync('BENCHMARKS.md', 'utf8');
  assert.doesNotMatch(md, /Not rerun/);
  assert.match(md, /\): gru 2 min, root-read 50 s; 3 min in all\.\n/);
  assert.match(md, /`node dist\/bench\/gru\.js`, 125 s in `npm run bench`\./);
});
