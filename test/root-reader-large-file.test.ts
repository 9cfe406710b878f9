/**
 * Files past 2 GB use ROOT's large-file layout: header version + 1000000 with 64-bit
 * fEND/fSeekInfo, a directory record of version > 1000 with 64-bit seeks, and TKeys of
 * version > 1000 with 64-bit fSeekKey. No such file is small enough to ship, so this test
 * builds one virtually: the real Delphes file's bytes at their own offsets (its baskets
 * stay where they are), a large-file header and directory record over them, and the keys
 * list plus the TTree (stored uncompressed) placed past 3 GB in a sparse source.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { openRootFile, type NumericBranchData } from '../src/root/reader/index.js';
import type { RandomAccessSource } from '../src/storage/random-access.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

const BIG = 3_000_000_000;
const TREE_AT = BIG + 4096;

/** Big-endian writer over a growable byte list. */
class Out {
  readonly bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  i16(v: number): this {
    return this.u8(v >> 8).u8(v);
  }
  i32(v: number): this {
    return this.i16(v >> 16).i16(v);
  }
  i64(v: number): this {
    return this.i32(Math.floor(v / 2 ** 32)).i32(v % 2 ** 32);
  }
  str(s: string): this {
    this.u8(s.length);
    for (const ch of s) this.u8(ch.charCodeAt(0));
    return this;
  }
  get array(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A 64-bit TKey header (version 1004). */
function bigKey(
  o: Out,
  nbytes: number,
  objlen: number,
  keylen: number,
  seek: number,
  className: string,
  name: string,
  title: string,
): void {
  o.i32(nbytes).i16(1004).i32(objlen).i32(0).i16(keylen).i16(1).i64(seek).i64(100).str(className).str(name).str(title);
}

class SparseSource implements RandomAccessSource {
  readonly uri = 'mem://large-delphes.root';
  constructor(
    readonly size: number,
    private readonly segments: readonly { at: number; bytes: Uint8Array }[],
  ) {}
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.size) throw new RangeError('past the end');
    const out = new Uint8Array(length);
    for (const s of this.segments) {
      const from = Math.max(offset, s.at);
      const to = Math.min(offset + length, s.at + s.bytes.length);
      if (from < to) out.set(s.bytes.subarray(from - s.at, to - s.at), from - offset);
    }
    return out;
  }
  async close(): Promise<void> {}
}

describe('large-file (64-bit) layout', () => {
  it('reads a tree whose keys list and TTree lie past 3 GB', async () => {
    const path = sharedRootFile('delphes-uproot-issue513.root');
    const local = await LocalFileSource.open(path);
    const small = await openRootFile(local);
    assert.ok(small.header.version < 1000000, 'the source file is a small-layout file');
    const key = small.keys.find((k) => k.name === 'Delphes')!;
    const payload = (await small.readKeyPayload(key)).bytes;
    const smallTree = await small.getTree('Delphes');
    const want = (await smallTree.readBranch('Jet.PT')) as NumericBranchData;
    const wantTracks = (await smallTree.readBranch('EFlowTrack.Z')) as NumericBranchData;
    await local.close();

    // Object references inside the TTree count from the start of its key, so the 64-bit
    // key must keep the original key length: shorten the title by the 8 extra bytes.
    const fixed = 4 + 2 + 4 + 4 + 2 + 2 + 8 + 8 + (1 + 'TTree'.length) + (1 + 'Delphes'.length) + 1;
    const titleLength = key.keylen - fixed;
    assert.ok(
      titleLength >= 0 && titleLength <= key.title.length,
      `title of ${key.title.length} chars cannot absorb the longer key`,
    );
    const title = key.title.slice(0, titleLength);

    const treeRecord = new Out();
    bigKey(treeRecord, key.keylen + payload.length, payload.length, key.keylen, TREE_AT, 'TTree', 'Delphes', title);
    assert.equal(treeRecord.bytes.length, key.keylen);
    const treeBytes = new Uint8Array(key.keylen + payload.length);
    treeBytes.set(treeRecord.array);
    treeBytes.set(payload, key.keylen);

    const listKeylen = fixed - ('TTree'.length + 'Delphes'.length) + 'TFile'.length + 'big'.length;
    const list = new Out();
    const listBody = new Out().i32(1);
    bigKey(listBody, key.keylen + payload.length, payload.length, key.keylen, TREE_AT, 'TTree', 'Delphes', title);
    bigKey(list, listKeylen + listBody.bytes.length, listBody.bytes.length, listKeylen, BIG, 'TFile', 'big', '');
    list.bytes.push(...listBody.bytes);

    const end = TREE_AT + treeBytes.length;
    const original = new Uint8Array(await readFile(path));
    const head = original.slice();
    const header = new Out()
      .u8(0x72)
      .u8(0x6f)
      .u8(0x6f)
      .u8(0x74)
      .i32(1000000 + small.header.version)
      .i32(100)
      .i64(end)
      .i64(0)
      .i32(0)
      .i32(0)
      .i32(small.header.nbytesName)
      .u8(8)
      .i32(small.header.compress)
      .i64(0)
      .i32(0);
    head.set(header.array, 0);
    const directory = new Out()
      .i16(1005)
      .i32(0)
      .i32(0)
      .i32(list.bytes.length)
      .i32(small.header.nbytesName)
      .i64(100)
      .i64(0)
      .i64(BIG);
    head.set(directory.array, 100 + small.header.nbytesName);

    const source = new SparseSource(end, [
      { at: 0, bytes: head },
      { at: BIG, bytes: list.array },
      { at: TREE_AT, bytes: treeBytes },
    ]);
    const file = await openRootFile(source);
    assert.ok(file.header.version >= 1000000);
    assert.equal(file.header.end, end);
    assert.equal(file.keys[0]!.seekKey, TREE_AT);
    const tree = await file.getTree('Delphes');
    assert.equal(tree.numEntries, 10);
    const got = (await tree.readBranch('Jet.PT')) as NumericBranchData;
    assert.deepEqual(Array.from(got.values as Float32Array), Array.from(want.values as Float32Array));
    assert.deepEqual(Array.from(got.offsets!), Array.from(want.offsets!));
    const tracks = (await tree.readBranch('EFlowTrack.Z')) as NumericBranchData;
    assert.deepEqual(Array.from(tracks.values as Float32Array), Array.from(wantTracks.values as Float32Array));
  });
});
