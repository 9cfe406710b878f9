/**
 * Optional check with ROOT itself: set HEPFLOW_ROOT_PYTHON to a Python that has the
 * `ROOT` package (e.g. `python3 -m venv /tmp/rootvenv && /tmp/rootvenv/bin/pip install root`).
 * Skipped otherwise, so the suite does not depend on a ROOT installation.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { eventStream } from '../src/generator/index.js';
import { DELPHES_BRANCHES, type DelphesEvent } from '../src/contract/delphes-event.js';
import { createTreeWriter, FileSink } from '../src/root/writer/index.js';
import { DELPHES_CLASSES, DelphesFileWriter } from '../src/delphes/writer.js';
import { BRANCHES, makeEntries, repoRoot } from './helpers/root-writer-helpers.js';

const run = promisify(execFile);
const ROOT_PYTHON = process.env['HEPFLOW_ROOT_PYTHON'];

interface RootDump {
  entries: number;
  version: string;
  branches: Record<string, number[][]>;
}

async function rootDump(path: string, tree: string): Promise<{ dump: RootDump; stderr: string }> {
  const { stdout, stderr } = await run(
    ROOT_PYTHON!,
    [join(repoRoot(), 'test/python/writer_root_check.py'), path, tree],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return { dump: JSON.parse(stdout) as RootDump, stderr };
}

const perEntry = (vs: Array<number | number[]>): number[][] => vs.map((v) => (Array.isArray(v) ? v : [v]));
/** ROOT prints problems (checksum mismatches, bad baskets) as "Error in"/"Warning in". */
const rootComplaints = (stderr: string) => stderr.split('\n').filter((l) => /^(Error|Warning) in/.test(l));

describe('ROOT itself reads the files', {
  skip: ROOT_PYTHON ? false : 'set HEPFLOW_ROOT_PYTHON to a python with the ROOT package',
}, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'root-writer-root-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('flat tree: every type, jagged, several baskets', async () => {
    const path = join(dir, 'flat.root');
    const { entries, expected } = makeEntries(200);
    const w = createTreeWriter(await FileSink.create(path), {
      treeName: 'events',
      basketSize: 512,
      branches: BRANCHES,
    });
    await w.fillBatch(entries);
    await w.close();
    const { dump, stderr } = await rootDump(path, 'events');
    assert.deepEqual(rootComplaints(stderr), []);
    assert.equal(dump.entries, 200);
    for (const [name, values] of Object.entries(expected))
      assert.deepEqual(dump.branches[name], perEntry(values), `ROOT ${dump.version} ${name}`);
  });

  test('Delphes layout: every collection member', async () => {
    const path = join(dir, 'delphes.root');
    const events: DelphesEvent[] = [...eventStream({ events: 60, seed: 5 })].map((g) => g.event);
    const w = new DelphesFileWriter(await FileSink.create(path), { basketSize: 2000 });
    await w.fillBatch(events);
    await w.close();
    const { dump, stderr } = await rootDump(path, 'Delphes');
    assert.deepEqual(rootComplaints(stderr), []);
    assert.equal(dump.entries, events.length);
    const classOf = {
      electrons: 'Electron',
      muons: 'Muon',
      jets: 'Jet',
      missingEt: 'MissingET',
      tracks: 'Track',
      photons: 'Tower',
      neutralHadrons: 'Tower',
    } as const;
    for (const [field, branch] of Object.entries(DELPHES_BRANCHES) as Array<[keyof DelphesEvent, string]>) {
      for (const m of DELPHES_CLASSES[classOf[field]].members) {
        const want = events.map((e) => Array.from((e[field] as unknown as Record<string, ArrayLike<number>>)[m.key]!));
        assert.deepEqual(dump.branches[`${branch}.${m.member}`], want, `ROOT ${branch}.${m.member}`);
      }
      assert.deepEqual(
        dump.branches[`${branch}_size`],
        events.map((e) => [
          (e[field] as unknown as Record<string, ArrayLike<number>>)[DELPHES_CLASSES[classOf[field]].members[0].key]!
            .length,
        ]),
      );
    }
  });

  test('64-bit layout: data past 2 GiB', async () => {
    const path = join(dir, 'big.root');
    const w = createTreeWriter(await FileSink.create(path), {
      treeName: 't',
      basketSize: 256,
      leadingGapBytes: 2_200_000_000,
      branches: [
        { name: 'x', type: 'f64' },
        { name: 'v', type: 'f32', counter: 'n' },
      ],
    });
    const xs: number[] = [];
    for (let i = 0; i < 200; i++) {
      xs.push(i * 1.5);
      await w.fill({ x: i * 1.5, v: [i, i + 0.5].slice(0, i % 3) });
    }
    await w.close();
    const { dump, stderr } = await rootDump(path, 't');
    assert.deepEqual(rootComplaints(stderr), []);
    assert.deepEqual(
      dump.branches['x'],
      xs.map((x) => [x]),
    );
    assert.deepEqual(
      dump.branches['n'],
      xs.map((_, i) => [Math.min(2, i % 3)]),
    );
  });
});
