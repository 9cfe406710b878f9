import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventStream } from '../src/generator/index.js';
import { DELPHES_BRANCHES, type DelphesEvent } from '../src/contract/delphes-event.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { FileSink } from '../src/root/writer/index.js';
import { DELPHES_CLASSES, DelphesFileWriter } from '../src/delphes/writer.js';
import type { RandomAccessSource } from '../src/storage/random-access.js';
import { jsrootDump, REAL_DELPHES, uprootDump, type UprootDump, type Value } from './helpers/root-writer-helpers.js';

/** Expected per-entry values of every written leaf branch, from the events. */
function expectedBranches(events: DelphesEvent[]): Record<string, Value[]> {
  const out: Record<string, Value[]> = {};
  const put = (k: string, v: Value) => (out[k] ??= []).push(v);
  for (const ev of events) {
    for (const [field, branch] of Object.entries(DELPHES_BRANCHES) as Array<[keyof DelphesEvent, string]>) {
      const coll = ev[field] as unknown as Record<string, ArrayLike<number>>;
      const cls = Object.values(DELPHES_CLASSES).find(
        (c) => c.members.every((m) => m.key in coll) && c.members.length === Object.keys(coll).length,
      )!;
      const n = coll[cls.members[0].key]!.length;
      put(`${branch}_size`, n);
      put(`${branch}.fUniqueID`, new Array<number>(n).fill(0));
      put(`${branch}.fBits`, new Array<number>(n).fill(0x03000000));
      for (const m of cls.members) put(`${branch}.${m.member}`, Array.from(coll[m.key]!));
    }
  }
  return out;
}

let dir: string;
let path: string;
let events: DelphesEvent[];
let mine: UprootDump;
let real: UprootDump;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'root-writer-delphes-'));
  path = join(dir, 'delphes.root');
  events = [...eventStream({ events: 120, seed: 7 })].map((g) => g.event);
  const w = new DelphesFileWriter(await FileSink.create(path), { basketSize: 3000 });
  await w.fillBatch(events);
  await w.close();
  [mine, real] = await Promise.all([uprootDump(path, 'Delphes'), uprootDump(REAL_DELPHES, 'Delphes', true)]);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DelphesFileWriter', () => {
  test('uproot reads every collection member back exactly', () => {
    const expected = expectedBranches(events);
    assert.equal(mine.entries, events.length);
    for (const [name, values] of Object.entries(expected))
      assert.deepEqual(mine.branches[name], values, `uproot ${name}`);
    assert.ok((mine.meta['EFlowTrack.PT']!['basketCount'] as number) > 2, 'tracks span several baskets');
    assert.ok(
      expected['Jet_size']!.some((n) => n === 0),
      'sample includes events without jets',
    );
  });

  test('jsroot reads every collection member back exactly, as arrays of the TClonesArray', async () => {
    const expected = expectedBranches(events);
    const d = await jsrootDump(path, 'Delphes');
    assert.deepEqual(
      d.topBranches,
      Object.values(DELPHES_BRANCHES).flatMap((b) => [b, `${b}_size`]),
    );
    for (const [name, values] of Object.entries(expected)) assert.deepEqual(d.branches[name], values, `jsroot ${name}`);
  });

  test('branch structure matches a real Delphes file', () => {
    const keys = [
      'class',
      'title',
      'leafClass',
      'leafTitle',
      'fClassName',
      'fParentName',
      'fClonesName',
      'fType',
      'fStreamerType',
      'fClassVersion',
    ];
    const pick = (m: Record<string, unknown>) => Object.fromEntries(keys.filter((k) => k in m).map((k) => [k, m[k]]));
    for (const name of [
      'Jet',
      'Jet_size',
      'Jet.fUniqueID',
      'Jet.fBits',
      'Jet.PT',
      'Jet.BTag',
      'EFlowTrack',
      'EFlowTrack.PT',
      'EFlowTrack.PID',
      'EFlowPhoton.ET',
      'EFlowNeutralHadron.E',
    ]) {
      assert.deepEqual(pick(mine.meta[name]!), pick(real.meta[name]!), name);
    }
    // Member indices follow our reduced classes: PT is element 1 after the base in both.
    assert.equal(mine.meta['Jet.PT']!['fID'], real.meta['Jet.PT']!['fID']);
    assert.deepEqual(mine.meta['Jet']!['subBranches'], [
      'Jet.fUniqueID',
      'Jet.fBits',
      'Jet.PT',
      'Jet.Eta',
      'Jet.Phi',
      'Jet.Mass',
      'Jet.BTag',
    ]);
  });

  test('streamer infos describe exactly the written members, with ROOT checksums', () => {
    assert.deepEqual(mine.streamers['Jet'], { '4': ['SortableObject', 'PT', 'Eta', 'Phi', 'Mass', 'BTag'] });
    assert.deepEqual(mine.streamers['Track'], {
      '3': ['SortableObject', 'PID', 'Charge', 'PT', 'Eta', 'Phi', 'X', 'Y', 'Z'],
    });
    assert.deepEqual(mine.streamers['MissingET'], { '1': ['TObject', 'MET', 'Eta', 'Phi'] });
    for (const c of ['Electron', 'Muon', 'Tower', 'TClonesArray', 'TBranchElement', 'TLeafElement', 'TTree'])
      assert.ok(mine.streamers[c], c);
    // Same algorithm as ROOT: SortableObject and TObject hash to the real file's values.
    for (const c of ['SortableObject', 'TObject', 'TClonesArray', 'TBranchElement'])
      assert.deepEqual(mine.checksums[c], real.checksums[c], c);
    assert.equal(mine.meta['Jet.PT']!['fCheckSum'], mine.checksums['Jet']!['4']);
  });

  test("hepflow's own reader (src/root/reader) returns the events that were written", async () => {
    const handle = await open(path);
    const size = (await handle.stat()).size;
    const source: RandomAccessSource = {
      uri: path,
      size,
      async read(offset, length) {
        const buf = new Uint8Array(length);
        const { bytesRead } = await handle.read(buf, 0, length, offset);
        if (bytesRead !== length) throw new Error(`short read at ${offset}`);
        return buf;
      },
      close: () => handle.close(),
    };
    let i = 0;
    try {
      for await (const chunk of readDelphesEvents(source, { entriesPerChunk: 50 })) {
        assert.deepEqual(chunk.missing, []);
        for (const got of chunk.events) {
          const want = events[i]!;
          for (const field of Object.keys(DELPHES_BRANCHES) as Array<keyof DelphesEvent>) {
            const g = got[field] as unknown as Record<string, ArrayLike<number>>;
            const w = want[field] as unknown as Record<string, ArrayLike<number>>;
            for (const key of Object.keys(w))
              assert.deepEqual(Array.from(g[key]!), Array.from(w[key]!), `event ${i} ${field}.${key}`);
          }
          i++;
        }
      }
    } finally {
      await source.close();
    }
    assert.equal(i, events.length);
  });
});
