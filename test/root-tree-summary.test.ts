import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Storage, type RandomAccessSource } from '../src/storage/index.js';
import { summarizeTree } from '../src/root/tree-summary.js';
import { RootFileError } from '../src/errors.js';
import { DELPHES, HZZ, ZMUMU, sharedFile } from './helpers/testdata.js';

const store = new Storage();

/** Counts what a reader fetches, to prove it reads ranges rather than whole files. */
function counting(src: RandomAccessSource) {
  const seen = { reads: 0, bytes: 0 };
  return {
    seen,
    source: { ...src, read: (o: number, l: number) => (seen.reads++, (seen.bytes += l), src.read(o, l)) },
  };
}

for (const name of HZZ.files) {
  test(`the ingest summary reads ${name} with the reference values`, async () => {
    const s = await summarizeTree(await store.openRead(sharedFile(name)), 'events', [
      'NMuon',
      'MET_px',
      'Jet_Px',
      'Muon_Px',
    ]);
    assert.equal(s.entries, HZZ.entries);
    assert.equal(s.stats.NMuon!.sum, HZZ.nMuonSum);
    assert.deepEqual(s.stats.Muon_Px!.first, HZZ.firstMuonPx);
    assert.equal(s.stats.Muon_Px!.count, HZZ.nMuonSum);
    assert.equal(s.stats.MET_px!.first[0], HZZ.firstMetPx);
    assert.ok(Math.abs(s.stats.MET_px!.sum - HZZ.metPxSum) < 1e-6);
    assert.equal(s.stats.Jet_Px!.count, HZZ.jetPxCount);
    assert.ok(Math.abs(s.stats.Jet_Px!.sum - HZZ.jetPxSum) < 1e-5);
  });
}

test('Zmumu and the real Delphes file (TClonesArray split branches)', async () => {
  const z = await summarizeTree(await store.openRead(sharedFile(ZMUMU.file)), undefined, ['px1', 'M']);
  assert.equal(z.treeName, 'events');
  assert.equal(z.entries, ZMUMU.entries);
  assert.ok(Math.abs(z.stats.px1!.first[0]! - ZMUMU.firstPx1) < 1e-9);
  assert.ok(Math.abs(z.stats.M!.first[0]! - ZMUMU.firstM) < 1e-9);
  const d = await summarizeTree(await store.openRead(sharedFile(DELPHES.file)), 'Delphes', [
    'Jet_size',
    'Jet.PT',
    'EFlowTrack.PT',
    'EFlowPhoton.ET',
    'EFlowNeutralHadron.ET',
  ]);
  assert.equal(d.entries, DELPHES.entries);
  assert.ok(d.branches.includes('EFlowTrack') && d.branches.includes('Jet'));
  assert.equal(d.stats.Jet_size!.sum, DELPHES.jetSizeSum);
  assert.deepEqual(d.stats['Jet.PT']!.first.slice(0, 3), DELPHES.firstJetPt);
  assert.equal(d.stats['EFlowTrack.PT']!.count, DELPHES.eflowTrackPt);
  assert.equal(d.stats['EFlowPhoton.ET']!.count, DELPHES.eflowPhotonEt);
  assert.equal(d.stats['EFlowNeutralHadron.ET']!.count, DELPHES.eflowNeutralHadronEt);
});

test('metadata comes from a few ranged reads, not the whole file', async () => {
  const file = sharedFile('uproot-HZZ-uncompressed.root');
  const { seen, source } = counting(await store.openRead(file));
  const s = await summarizeTree(source, undefined);
  assert.equal(s.entries, HZZ.entries);
  assert.ok(seen.bytes < source.size / 4, `read ${seen.bytes} of ${source.size} bytes`);
});

test('bad input fails with RootFileError naming the file and the cause', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hepflow-bad-'));
  const truncated = path.join(dir, 'truncated.root');
  const whole = readFileSync(sharedFile('uproot-HZZ.root'));
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  const junk = path.join(dir, 'junk.root');
  writeFileSync(junk, 'this is not a ROOT file at all, just text\n'.repeat(50));
  const cases: [string, string | undefined, RegExp][] = [
    [truncated, 'events', /truncated\.root.*(truncated|bytes)/],
    [junk, undefined, /junk\.root: not a ROOT file/],
    [
      sharedFile('uproot-HZZ.root'),
      'Delphes',
      /uproot-HZZ\.root: no TTree 'Delphes' in the top directory \(keys: events;1 \(TTree\)\)/,
    ],
  ];
  for (const [file, tree, pattern] of cases) {
    await assert.rejects(
      summarizeTree(await store.openRead(file), tree),
      (e: Error) => e instanceof RootFileError && pattern.test(e.message),
    );
  }
  await assert.rejects(
    summarizeTree(await store.openRead(sharedFile('uproot-HZZ.root')), 'events', ['NoSuchBranch']),
    /uproot-HZZ\.root: tree 'events' has no branch 'NoSuchBranch'/,
  );
});
