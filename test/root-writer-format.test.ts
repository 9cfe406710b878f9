import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { ByteWriter } from '../src/root/writer/bytes.js';
import { MAX_BLOCK, rootCompress } from '../src/root/writer/compression.js';
import { basic, base, classChecksum, StreamerRegistry, type ClassInfo } from '../src/root/writer/streamers.js';
import { keyHeaderLength, writeKeyHeader } from '../src/root/writer/tfile.js';
import { createTreeWriter, FileSink } from '../src/root/writer/index.js';
import { jsrootDump, uprootDump } from './helpers/root-writer-helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'root-writer-format-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ROOT compression blocks', () => {
  test('splits payloads into blocks of at most 0xffffff bytes with ZL headers', () => {
    const data = new Uint8Array(MAX_BLOCK + 1000).map((_, i) => i % 251);
    const out = rootCompress(data, { algorithm: 'zlib', level: 1 });
    const blocks: Uint8Array[] = [];
    let at = 0;
    while (at < out.length) {
      assert.equal(String.fromCharCode(out[at]!, out[at + 1]!), 'ZL');
      assert.equal(out[at + 2], 8);
      const c = out[at + 3]! | (out[at + 4]! << 8) | (out[at + 5]! << 16);
      const u = out[at + 6]! | (out[at + 7]! << 8) | (out[at + 8]! << 16);
      const block = inflateSync(out.subarray(at + 9, at + 9 + c));
      assert.equal(block.length, u);
      blocks.push(block);
      at += 9 + c;
    }
    assert.deepEqual(
      blocks.map((b) => b.length),
      [MAX_BLOCK, 1000],
    );
    assert.deepEqual(Buffer.concat(blocks), Buffer.from(data));
  });

  test('stores incompressible data raw', () => {
    const data = randomBytes(5000);
    assert.equal(rootCompress(data, { algorithm: 'zlib', level: 9 }), data);
  });
});

describe('64-bit seek switch', () => {
  test('keys past kStartBigFile use version 1004 and 64-bit seeks', () => {
    const k = { nbytes: 100, objlen: 60, datime: 0, cycle: 1, className: 'TBasket', name: 'x', title: 't' };
    const small = new ByteWriter();
    writeKeyHeader(small, {
      ...k,
      keylen: keyHeaderLength(false, 'TBasket', 'x', 't'),
      seek: 2_000_000_000,
      seekPdir: 100,
    });
    const big = new ByteWriter();
    writeKeyHeader(big, {
      ...k,
      keylen: keyHeaderLength(true, 'TBasket', 'x', 't'),
      seek: 2_000_000_001,
      seekPdir: 100,
    });
    const s = new DataView(small.toBytes().buffer);
    const b = new DataView(big.toBytes().buffer);
    assert.equal(s.getInt16(4), 4);
    assert.equal(b.getInt16(4), 1004);
    assert.equal(small.pos, keyHeaderLength(false, 'TBasket', 'x', 't'));
    assert.equal(big.pos, small.pos + 8);
    assert.equal(s.getInt32(18), 2_000_000_000);
    assert.equal(Number(b.getBigInt64(18)), 2_000_000_001);
  });

  test('a file whose data lies past 2 GiB (sparse hole) is read by uproot and jsroot', async () => {
    const path = join(dir, 'sparse-big.root');
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
    const vs: number[][] = [];
    for (let i = 0; i < 300; i++) {
      xs.push(i * 1.5);
      vs.push(Array.from({ length: i % 4 }, (_, k) => Math.fround(i + k / 4)));
      await w.fill({ x: i * 1.5, v: vs[i]! });
    }
    const { fileBytes } = await w.close();
    assert.ok(fileBytes > 2 ** 31);
    assert.equal((await stat(path)).size, fileBytes);
    const d = await uprootDump(path, 't');
    assert.ok(d.file.fVersion > 1_000_000, 'big file header');
    assert.ok(d.file.fSeekInfo > 2 ** 31);
    assert.deepEqual(d.branches['x'], xs);
    assert.deepEqual(d.branches['v'], vs);
    const j = await jsrootDump(path, 't');
    assert.deepEqual(j.branches['x'], xs);
    assert.deepEqual(j.branches['v'], vs);
  });

  test('a real file over 2 GiB of data round-trips (set HEPFLOW_ROOT_WRITER_BIG=1)', {
    skip: process.env['HEPFLOW_ROOT_WRITER_BIG'] !== '1',
  }, async () => {
    const path = join(dir, 'real-big.root');
    const w = createTreeWriter(await FileSink.create(path), {
      treeName: 't',
      basketSize: 8 * 1024 * 1024,
      compression: { algorithm: 'none', level: 0 },
      branches: [{ name: 'v', type: 'f64', counter: 'n' }],
    });
    const row = Float64Array.from({ length: 4096 }, (_, k) => k);
    const rows = Math.ceil((2.2 * 2 ** 30) / row.byteLength);
    for (let i = 0; i < rows; i++) await w.fill({ v: row });
    const { fileBytes } = await w.close();
    assert.ok(fileBytes > 2.2 * 2 ** 30);
    const j = await jsrootDump(path, 't', ['n']);
    assert.equal(j.entries, rows);
    assert.ok(j.branches['n']!.every((n) => n === 4096));
  });
});

describe('class checksums', () => {
  test('reproduce ROOT checksums from a real Delphes file', () => {
    const reg = new StreamerRegistry();
    const sortable: ClassInfo = { name: 'SortableObject', version: 1, elements: [base('TObject', 1)] };
    reg.add(sortable);
    const lookup = (n: string) => reg.get(n);
    assert.equal(classChecksum(sortable, lookup), 2383457965);
    const tower: ClassInfo = {
      name: 'Tower',
      version: 2,
      elements: [
        base('SortableObject', 1),
        ...['ET', 'Eta', 'Phi', 'E', 'T'].map((n) => basic(n, 'float')),
        basic('NTimeHits', 'int'),
        basic('Eem', 'float'),
        basic('Ehad', 'float'),
        { kind: 'basic', name: 'Edges', typeName: 'float', type: 5, size: 4, title: '', arrayLength: 4 },
        { kind: 'object', name: 'Particles', typeName: 'TRefArray', size: 72, title: '' },
      ],
    };
    assert.equal(classChecksum(tower, lookup), 915630848);
    const tleafI = reg.require('TLeafI');
    const { checksum: _, ...withoutChecksum } = tleafI;
    assert.equal(classChecksum(withoutChecksum, lookup), 2120920601);
  });
});
