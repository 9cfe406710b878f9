/**
 * hepflow's ROOT reader against the real files in shared/testdata/root and the reference
 * values of shared/testdata/README.md (HZZ in every compression, Zmumu, Delphes).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openRootFile, type NumericBranchData, type RootTree } from '../src/root/reader/index.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

const opened: LocalFileSource[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

async function tree(file: string, name: string): Promise<RootTree> {
  const source = await LocalFileSource.open(sharedRootFile(file));
  opened.push(source);
  return (await openRootFile(source)).getTree(name);
}

async function numeric(
  t: RootTree,
  branch: string,
  range: { entryStart?: number; entryStop?: number } = {},
): Promise<NumericBranchData> {
  const d = await t.readBranch(branch, range);
  assert.equal(d.kind, 'numeric');
  return d;
}

const sum = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
};

const HZZ_FILES = [
  'uproot-HZZ.root',
  'uproot-HZZ-zlib.root',
  'uproot-HZZ-lz4.root',
  'uproot-HZZ-zstd.root',
  'uproot-HZZ-lzma.root',
  'uproot-HZZ-uncompressed.root',
];

describe('HZZ in every compression', () => {
  for (const file of HZZ_FILES) {
    it(`${file}: reference values`, async () => {
      const t = await tree(file, 'events');
      assert.equal(t.numEntries, 2421);
      const nMuon = await numeric(t, 'NMuon');
      assert.equal(nMuon.type, 'i32');
      assert.equal(sum(nMuon.values as Int32Array), 3825);

      const px = await numeric(t, 'Muon_Px');
      assert.equal(px.type, 'f32');
      assert.equal(px.values.length, 3825);
      assert.deepEqual(
        Array.from(px.values.subarray(px.offsets![0], px.offsets![1]) as Float32Array),
        [-52.89945602416992, 37.7377815246582],
      );
      // Offsets are the running sum of the counter branch.
      for (let i = 0; i < t.numEntries; i++) assert.equal(px.offsets![i + 1]! - px.offsets![i]!, nMuon.values[i]);

      const met = await numeric(t, 'MET_px');
      assert.equal(met.offsets, null);
      assert.equal(met.values[0], 5.912771224975586);
      assert.ok(Math.abs(sum(met.values as Float32Array) - 577.72990359) < 1e-6);

      const jets = await numeric(t, 'Jet_Px');
      assert.equal(jets.values.length, 2773);
      assert.ok(Math.abs(sum(jets.values as Float32Array) - 3434.917912) < 1e-5);

      const trigger = await numeric(t, 'triggerIsoMu24');
      assert.equal(trigger.type, 'bool');
      assert.equal(trigger.values.length, 2421);
    });
  }

  it('entry ranges that cross the basket boundary give the matching slice', async () => {
    const t = await tree('uproot-HZZ-lz4.root', 'events');
    // Muon_Px has two baskets, entries [0, 2231) and [2231, 2421).
    assert.deepEqual(t.branch('Muon_Px').basketEntry.slice(0, 3), [0, 2231, 2421]);
    const all = await numeric(t, 'Muon_Px');
    const part = await numeric(t, 'Muon_Px', { entryStart: 2200, entryStop: 2300 });
    assert.equal(part.offsets!.length, 101);
    const from = all.offsets![2200]!;
    const to = all.offsets![2300]!;
    assert.deepEqual(
      Array.from(part.values as Float32Array),
      Array.from(all.values.subarray(from, to) as Float32Array),
    );
    assert.deepEqual(
      Array.from(part.offsets!, (o) => o + from),
      Array.from(all.offsets!.subarray(2200, 2301)),
    );
    const empty = await numeric(t, 'Muon_Px', { entryStart: 5, entryStop: 5 });
    assert.equal(empty.values.length, 0);
    assert.deepEqual(Array.from(empty.offsets!), [0]);
  });

  it('jagged baskets without an offset table take their counts from the counter branch', async () => {
    const reference = await numeric(await tree('uproot-HZZ.root', 'events'), 'Muon_Px');
    const t = await tree('uproot-HZZ.root', 'events');
    // ROOT writes offset tables for every jagged branch we have; pretend it did not.
    (t.branch('Muon_Px') as { entryOffsetLen: number }).entryOffsetLen = 0;
    const viaCounter = await numeric(t, 'Muon_Px', { entryStart: 100, entryStop: 2400 });
    const from = reference.offsets![100]!;
    assert.deepEqual(
      Array.from(viaCounter.values as Float32Array),
      Array.from(reference.values.subarray(from, reference.offsets![2400]) as Float32Array),
    );
    assert.deepEqual(
      Array.from(viaCounter.offsets!, (o) => o + from),
      Array.from(reference.offsets!.subarray(100, 2401)),
    );
  });

  it('reading many branches coalesces neighbouring baskets into few reads', async () => {
    const t = await tree('uproot-HZZ.root', 'events');
    const names = t.branchNames();
    await t.readBranches(names);
    const baskets = names.reduce((n, b) => n + t.branch(b).writeBasket, 0);
    assert.ok(baskets >= names.length);
    assert.ok(t.stats.reads < baskets / 4, `${t.stats.reads} reads for ${baskets} baskets`);
  });
});

describe('Zmumu (zstd)', () => {
  it('reference values and the string branch', async () => {
    const t = await tree('uproot-Zmumu-zstd.root', 'events');
    assert.equal(t.numEntries, 2304);
    const px1 = await numeric(t, 'px1');
    assert.equal(px1.type, 'f64');
    assert.equal(px1.values[0], -41.1952876442);
    const m = await numeric(t, 'M');
    assert.equal(m.values[0], 82.4626915551);
    const type = await t.readBranch('Type');
    assert.equal(type.kind, 'string');
    assert.deepEqual(type.values.slice(0, 3), ['GT', 'TT', 'GT']);
  });
});

describe('Delphes (TClonesArray split branches)', () => {
  it('reference values', async () => {
    const t = await tree('delphes-uproot-issue513.root', 'Delphes');
    assert.equal(t.numEntries, 10);
    const size = await numeric(t, 'Jet_size');
    assert.equal(sum(size.values as Int32Array), 60);
    const pt = await numeric(t, 'Jet.PT');
    assert.equal(pt.values.length, 60);
    assert.deepEqual(
      Array.from(pt.values.subarray(0, 3) as Float32Array),
      [68.99266052246094, 65.33150482177734, 52.26370620727539],
    );
    for (let i = 0; i < 10; i++) assert.equal(pt.offsets![i + 1]! - pt.offsets![i]!, size.values[i]);
    assert.equal((await numeric(t, 'EFlowTrack.PT')).values.length, 818);
    assert.equal((await numeric(t, 'EFlowPhoton.ET')).values.length, 520);
    assert.equal((await numeric(t, 'EFlowNeutralHadron.ET')).values.length, 760);
    const btag = await numeric(t, 'Jet.BTag');
    assert.equal(btag.type, 'u32');
    const number = await numeric(t, 'Event.Number');
    assert.equal(number.type, 'i64');
    assert.deepEqual(
      Array.from(number.values as BigInt64Array),
      Array.from({ length: 10 }, (_, i) => BigInt(i)),
    );
  });

  it('lists nested sub-branches and reports the TClonesArray structure', async () => {
    const t = await tree('delphes-uproot-issue513.root', 'Delphes');
    const names = t.branchNames();
    for (const n of ['Jet', 'Jet.PT', 'Jet_size', 'EFlowTrack.X', 'EFlowPhoton.E']) assert.ok(names.includes(n), n);
    assert.equal(names.includes('MuonTight.PT'), false);
    const jetPt = t.branch('Jet.PT');
    assert.equal(jetPt.element?.type, 31);
    assert.equal(jetPt.element?.streamerType, 5);
    assert.equal(t.interpretation('Jet.PT').jagged, true);
    assert.equal(t.interpretation('Jet.FracPt[5]').multiplicity, 5);
  });
});

describe('metadata through the StreamerInfo layer', () => {
  // Files from other writers carry TTree/TBranch versions without a built-in reader
  // (Geant4's g4tools: TTree v5, TBranch v8); those are read member by member from the
  // file's StreamerInfo. Forcing that path on every shared file must give the same
  // metadata as the built-in deserialisers.
  for (const [file, treeName] of [
    ...HZZ_FILES.map((f) => [f, 'events'] as const),
    ['uproot-Zmumu-zstd.root', 'events'] as const,
    ['delphes-uproot-issue513.root', 'Delphes'] as const,
  ]) {
    it(file, async () => {
      const source = await LocalFileSource.open(sharedRootFile(file));
      opened.push(source);
      const f = await openRootFile(source);
      const builtIn = await f.getTree(treeName);
      const viaStreamers = await f.getTree(treeName, { preferStreamers: true });
      assert.ok((await f.streamerInfos()).size > 5);
      assert.equal(viaStreamers.numEntries, builtIn.numEntries);
      assert.deepEqual(viaStreamers.branchNames(), builtIn.branchNames());
      for (const name of builtIn.branchNames()) assert.deepEqual(viaStreamers.branch(name), builtIn.branch(name), name);
      const name = treeName === 'Delphes' ? 'Jet.PT' : builtIn.branchNames()[1]!;
      assert.deepEqual(await viaStreamers.readBranch(name), await builtIn.readBranch(name));
    });
  }
});
