/**
 * The Delphes adapter over the real Delphes file: DelphesEvent views match the branch
 * arrays, chunking is invisible in the values, a missing collection fails by name
 * unless the caller opts into reading it as empty. Also the LZ4 decoder, XXH64 and read
 * coalescing on their own.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DelphesEvent } from '../src/contract/delphes-event.js';
import { fetchCoalesced } from '../src/root/reader/basket.js';
import { lz4DecodeBlock, Lz4Error, xxh64 } from '../src/root/reader/lz4.js';
import { MissingBranchError, openRootFile, type NumericBranchData } from '../src/root/reader/index.js';
import { readDelphesEvents } from '../src/delphes/reader.js';
import type { RandomAccessSource } from '../src/storage/random-access.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

const DELPHES = sharedRootFile('delphes-uproot-issue513.root');
const opened: LocalFileSource[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
});
async function source(): Promise<LocalFileSource> {
  const s = await LocalFileSource.open(DELPHES);
  opened.push(s);
  return s;
}

async function allEvents(
  options: Parameters<typeof readDelphesEvents>[1],
): Promise<{ events: DelphesEvent[]; chunks: number[][] }> {
  const events: DelphesEvent[] = [];
  const chunks: number[][] = [];
  for await (const chunk of readDelphesEvents(await source(), options)) {
    chunks.push([chunk.entryStart, chunk.entryStop]);
    assert.equal(chunk.events.length, chunk.entryStop - chunk.entryStart);
    events.push(...chunk.events);
  }
  return { events, chunks };
}

describe('readDelphesEvents', () => {
  it('fails by file and branch when a collection is missing', async () => {
    const s = await source();
    await assert.rejects(
      async () => {
        for await (const chunk of readDelphesEvents(s)) assert.fail(`got a chunk ${chunk.entryStart}`);
      },
      (e: unknown) =>
        e instanceof MissingBranchError &&
        e.branchName === 'Electron.PT' &&
        e.message.includes('delphes-uproot-issue513.root'),
    );
    await assert.rejects(
      async () => {
        for await (const chunk of readDelphesEvents(s, { emptyIfMissing: ['electrons', 'muons'] }))
          assert.fail(`got a chunk ${chunk.entryStart}`);
      },
      (e: unknown) => e instanceof MissingBranchError && e.branchName === 'MissingET.MET',
    );
  });

  it('delivers events whose collections are the branch values, in any chunking', async () => {
    const s = await source();
    const tree = await (await openRootFile(s)).getTree('Delphes');
    const branch = async (name: string): Promise<NumericBranchData> =>
      (await tree.readBranch(name)) as NumericBranchData;
    const jetPt = await branch('Jet.PT');
    const jetBtag = await branch('Jet.BTag');
    const trackPid = await branch('EFlowTrack.PID');
    const trackZ = await branch('EFlowTrack.Z');
    const photonE = await branch('EFlowPhoton.E');
    const hadronEt = await branch('EFlowNeutralHadron.ET');

    const reference = await allEvents({ emptyIfMissing: 'all' });
    assert.equal(reference.events.length, 10);
    assert.deepEqual(reference.chunks, [[0, 10]]);
    reference.events.forEach((e, i) => {
      const slice = (d: NumericBranchData): number[] =>
        Array.from(d.values.subarray(d.offsets![i], d.offsets![i + 1]) as ArrayLike<number>);
      assert.deepEqual(Array.from(e.jets.pt), slice(jetPt));
      assert.deepEqual(Array.from(e.jets.btag), slice(jetBtag));
      assert.deepEqual(Array.from(e.tracks.pid), slice(trackPid));
      assert.deepEqual(Array.from(e.tracks.z), slice(trackZ));
      assert.deepEqual(Array.from(e.photons.e), slice(photonE));
      assert.deepEqual(Array.from(e.neutralHadrons.et), slice(hadronEt));
      assert.ok(
        e.jets.pt instanceof Float32Array &&
          e.jets.btag instanceof Uint32Array &&
          e.tracks.charge instanceof Int32Array,
      );
      assert.equal(e.tracks.x.length, e.tracks.pt.length);
      assert.equal(e.muons.pt.length, 0);
      assert.equal(e.electrons.charge.length, 0);
      assert.equal(e.missingEt.met.length, 0);
    });
    assert.deepEqual(
      Array.from(reference.events[0]!.jets.pt.subarray(0, 3)),
      [68.99266052246094, 65.33150482177734, 52.26370620727539],
    );
    const total = (f: (e: DelphesEvent) => number): number => reference.events.reduce((n, e) => n + f(e), 0);
    assert.equal(
      total((e) => e.jets.pt.length),
      60,
    );
    assert.equal(
      total((e) => e.tracks.pt.length),
      818,
    );
    assert.equal(
      total((e) => e.photons.et.length),
      520,
    );
    assert.equal(
      total((e) => e.neutralHadrons.et.length),
      760,
    );

    // An already opened tree works as input too.
    const fromTree: DelphesEvent[] = [];
    for await (const chunk of readDelphesEvents(tree, { emptyIfMissing: 'all', entriesPerChunk: 4 }))
      fromTree.push(...chunk.events);
    assert.deepEqual(
      fromTree.map((e) => Array.from(e.tracks.eta)),
      reference.events.map((e) => Array.from(e.tracks.eta)),
    );

    const chunked = await allEvents({ emptyIfMissing: 'all', entriesPerChunk: 3, entryStart: 1, entryStop: 9 });
    assert.deepEqual(chunked.chunks, [
      [1, 4],
      [4, 7],
      [7, 9],
    ]);
    chunked.events.forEach((e, i) => {
      const r = reference.events[i + 1]!;
      assert.deepEqual(Array.from(e.tracks.phi), Array.from(r.tracks.phi));
      assert.deepEqual(Array.from(e.jets.mass), Array.from(r.jets.mass));
    });
  });

  it('fetches and decompresses each basket once across chunks', async () => {
    class Counting implements RandomAccessSource {
      bytes = 0;
      constructor(private readonly inner: RandomAccessSource) {}
      get uri(): string {
        return this.inner.uri;
      }
      get size(): number {
        return this.inner.size;
      }
      read(offset: number, length: number): Promise<Uint8Array> {
        this.bytes += length;
        return this.inner.read(offset, length);
      }
      close(): Promise<void> {
        return this.inner.close();
      }
    }
    const one = new Counting(await source());
    for await (const chunk of readDelphesEvents(one, { emptyIfMissing: 'all', entriesPerChunk: 10 })) assert.ok(chunk);
    const many = new Counting(await source());
    for await (const chunk of readDelphesEvents(many, { emptyIfMissing: 'all', entriesPerChunk: 1 })) assert.ok(chunk);
    assert.equal(many.bytes, one.bytes);
  });
});

describe('codec and I/O building blocks', () => {
  it('XXH64 matches the reference vectors', () => {
    assert.equal(xxh64(new Uint8Array(0)), 0xef46db3751d8e999n);
    assert.equal(xxh64(new TextEncoder().encode('abc')), 0x44bc2cf5ad770999n);
  });

  it('LZ4 decodes literals and overlapping matches and rejects bad offsets', () => {
    // "abcabcabcabc!": 3 literals, a 9-byte match at offset 3 (overlapping), then "!".
    const block = new Uint8Array([0x35, 0x61, 0x62, 0x63, 0x03, 0x00, 0x10, 0x21]);
    const out = new Uint8Array(13);
    assert.equal(lz4DecodeBlock(block, out), 13);
    assert.equal(new TextDecoder().decode(out), 'abcabcabcabc!');
    assert.throws(() => lz4DecodeBlock(new Uint8Array([0x15, 0x61, 0x09, 0x00]), new Uint8Array(20)), Lz4Error);
    assert.throws(() => lz4DecodeBlock(block, new Uint8Array(5)), Lz4Error);
  });

  it('coalesces neighbouring ranges into one read and keeps far ones apart', async () => {
    const reads: [number, number][] = [];
    const fake: RandomAccessSource = {
      uri: 'mem://x',
      size: 1 << 24,
      read: async (offset, length) => {
        reads.push([offset, length]);
        return Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff);
      },
      close: async () => undefined,
    };
    const requests = [
      { seek: 1000, bytes: 100 },
      { seek: 1150, bytes: 50 },
      { seek: 10_000_000, bytes: 10 },
      { seek: 1100, bytes: 20 },
    ];
    const got = await fetchCoalesced(fake, requests, { maxGap: 64, maxRequest: 1 << 20, concurrency: 2 });
    assert.deepEqual(
      reads.sort((a, b) => a[0] - b[0]),
      [
        [1000, 200],
        [10_000_000, 10],
      ],
    );
    for (const r of requests)
      assert.deepEqual(
        Array.from(got.get(r)!),
        Array.from({ length: r.bytes }, (_, i) => (r.seek + i) & 0xff),
      );
  });
});
