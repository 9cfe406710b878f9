/**
 * The ROOT reader's inflaters: libdeflate (native/inflate) against node's zlib on every
 * zlib block of every basket of real files, byte for byte: the zlib files in
 * shared/testdata/root, and a real pile-up Delphes file (stored as ZSTD) rewritten by
 * hepflow's writer (zlib), as the feature benchmark's input is; both
 * refusing corrupt and oversized streams; and the choice between them (HEPFLOW_INFLATE,
 * the fallback when the addon is missing).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { DelphesFileWriter } from '../src/delphes/writer.js';
import { FileSink } from '../src/root/writer/index.js';
import { openRootFile } from '../src/root/reader/index.js';
import { basketLocations } from '../src/root/reader/basket.js';
import { Cursor } from '../src/root/reader/cursor.js';
import { readKeyHeader } from '../src/root/reader/file.js';
import {
  activeInflater,
  loadLibdeflate,
  nodeZlibInflater,
  resolveInflater,
  type Inflater,
} from '../src/root/reader/inflate.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

const loaded = loadLibdeflate();
// The addon is part of the build (infra/bootstrap.sh); a missing one is a failure here,
// not a skip, or the fast path could silently stop being tested.
const libdeflate: Inflater = (() => {
  if ('error' in loaded) assert.fail(`libdeflate inflater unavailable: ${loaded.error}`);
  return loaded.inflater;
})();

const ZLIB_FILES: [string, string][] = [
  [sharedRootFile('delphes-uproot-issue513.root'), 'Delphes'],
  [sharedRootFile('uproot-HZZ-zlib.root'), 'events'],
  [sharedRootFile('uproot-HZZ.root'), 'events'],
];

let dir = '';
let rewritten = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hepflow-inflate-'));
  rewritten = join(dir, 'pu20-ttbar-zlib.root');
  const source = await LocalFileSource.open(resolve('../shared/testdata/delphes/delphes-pu20-ttbar.root'));
  const writer = new DelphesFileWriter(await FileSink.create(rewritten));
  try {
    for await (const chunk of readDelphesEvents(source)) for (const event of chunk.events) await writer.fill(event);
  } finally {
    await source.close();
  }
  await writer.close();
});
after(() => rm(dir, { recursive: true, force: true }));

/** Every zlib block ("ZL" header) of every stored basket of the tree's branches, with its declared size. */
async function* zlibBlocks(file: string, treeName: string): AsyncGenerator<{ block: Uint8Array; size: number }> {
  const source = await LocalFileSource.open(file);
  try {
    const tree = await (await openRootFile(source)).getTree(treeName);
    for (const name of tree.branchNames()) {
      const branch = tree.branch(name);
      for (const loc of basketLocations(file, branch)) {
        if (loc.embedded) continue;
        const bytes = await source.read(loc.seek, loc.bytes);
        const key = readKeyHeader(new Cursor(bytes, file, name));
        const payload = bytes.subarray(key.keylen, key.nbytes);
        if (payload.length === key.objlen) continue; // stored raw
        for (let at = 0; at + 9 <= payload.length; ) {
          const cSize = payload[at + 3]! | (payload[at + 4]! << 8) | (payload[at + 5]! << 16);
          const uSize = payload[at + 6]! | (payload[at + 7]! << 8) | (payload[at + 8]! << 16);
          if (payload[at] === 0x5a && payload[at + 1] === 0x4c)
            yield { block: payload.subarray(at + 9, at + 9 + cSize), size: uSize };
          at += 9 + cSize;
        }
      }
    }
  } finally {
    await source.close();
  }
}

describe('ROOT zlib inflate', () => {
  it('libdeflate inflates every zlib block of the real files exactly as node zlib does', async () => {
    for (const [file, treeName] of [...ZLIB_FILES, [rewritten, 'Delphes'] as const]) {
      let blocks = 0;
      let bytes = 0;
      for await (const { block, size } of zlibBlocks(file, treeName)) {
        const ours = libdeflate.inflate(block, size);
        const theirs = nodeZlibInflater.inflate(block, size);
        assert.equal(ours.length, size, `${file}: block ${blocks} gave ${ours.length} of ${size} bytes`);
        assert.ok(Buffer.from(ours).equals(Buffer.from(theirs)), `${file}: block ${blocks} differs from node zlib`);
        blocks++;
        bytes += size;
      }
      assert.ok(blocks > 0 && bytes > 0, `${file}: no zlib blocks found`);
    }
  });

  it('both refuse corrupt streams and streams that inflate past the declared size', () => {
    const data = new Uint8Array(50_000).map((_, i) => (i * 7919) % 251);
    const stream = new Uint8Array(deflateSync(data));
    for (const inflater of [libdeflate, nodeZlibInflater]) {
      assert.deepEqual(Buffer.from(inflater.inflate(stream, data.length)), Buffer.from(data), inflater.name);
      assert.throws(() => inflater.inflate(stream, data.length - 1), Error, `${inflater.name}: oversized`);
      const corrupt = stream.slice();
      corrupt[corrupt.length - 2]! ^= 0xff; // inside the Adler-32 checksum
      assert.throws(() => inflater.inflate(corrupt, data.length), Error, `${inflater.name}: bad checksum`);
      assert.throws(() => inflater.inflate(stream.subarray(0, 100), data.length), Error, `${inflater.name}: truncated`);
    }
    // A stream shorter than declared comes back short, for the caller to report.
    assert.equal(libdeflate.inflate(stream, data.length + 10).length, data.length);
  });

  it('HEPFLOW_INFLATE chooses; without the addon node zlib is the fallback, with the reason', () => {
    const missing = () => ({ error: 'native/inflate not built' });
    assert.equal(resolveInflater(undefined).inflater.name, 'libdeflate');
    assert.equal(resolveInflater('zlib').inflater.name, 'zlib');
    const fallback = resolveInflater(undefined, missing);
    assert.equal(fallback.inflater.name, 'zlib');
    assert.match(fallback.reason, /libdeflate unavailable: native\/inflate not built/);
    assert.throws(
      () => resolveInflater('libdeflate', missing),
      /HEPFLOW_INFLATE=libdeflate but native\/inflate not built/,
    );
    assert.throws(() => resolveInflater('gzip'), /HEPFLOW_INFLATE must be libdeflate or zlib, got 'gzip'/);
    // The test runs without HEPFLOW_INFLATE, so the reader itself uses libdeflate.
    assert.equal(activeInflater().name, process.env['HEPFLOW_INFLATE'] === 'zlib' ? 'zlib' : 'libdeflate');
  });
});
