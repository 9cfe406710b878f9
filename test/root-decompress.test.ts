/**
 * The ROOT reader's decompressors: the native ones (native/decompress: libdeflate,
 * libzstd) against the portable ones (node's zlib, fzstd) on every zlib and ZSTD block of
 * every basket of real files, byte for byte: the zlib files in shared/testdata/root, a
 * real pile-up Delphes file rewritten by hepflow's writer (zlib), as the feature
 * benchmark's input is, and the real Delphes samples themselves (ZSTD); both refusing
 * corrupt and oversized data; and the choice between them (HEPFLOW_DECOMPRESS, the
 * fallback when the addon is missing).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { readDelphesEvents } from '../src/delphes/reader.js';
import { DelphesFileWriter } from '../src/delphes/writer.js';
import { basketLocations } from '../src/root/reader/basket.js';
import { Cursor } from '../src/root/reader/cursor.js';
import {
  activeDecompressors,
  loadNativeDecompressors,
  portableDecompressors,
  resolveDecompressors,
  type Decompressors,
} from '../src/root/reader/decompress-native.js';
import { readKeyHeader } from '../src/root/reader/file.js';
import { openRootFile } from '../src/root/reader/index.js';
import { FileSink } from '../src/root/writer/index.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

const loaded = loadNativeDecompressors();
// The addon is part of the build (infra/bootstrap.sh); a missing one is a failure here,
// not a skip, or the fast path could silently stop being tested.
const native: Decompressors = (() => {
  if ('error' in loaded) assert.fail(`native decompressors unavailable: ${loaded.error}`);
  return loaded.decompressors;
})();

const delphes = (name: string): string => resolve(`../shared/testdata/delphes/${name}.root`);
const ZLIB_FILES: [string, string][] = [
  [sharedRootFile('delphes-uproot-issue513.root'), 'Delphes'],
  [sharedRootFile('uproot-HZZ-zlib.root'), 'events'],
  [sharedRootFile('uproot-HZZ.root'), 'events'],
];
const ZSTD_FILES: [string, string][] = [
  ...['qcd', 'ttbar', 'wjets', 'pu20-qcd', 'pu20-ttbar', 'pu20-wjets'].map((c): [string, string] => [
    delphes(`delphes-${c}`),
    'Delphes',
  ]),
  [sharedRootFile('uproot-HZZ-zstd.root'), 'events'],
  [sharedRootFile('uproot-Zmumu-zstd.root'), 'events'],
];

let dir = '';
let rewritten = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hepflow-decompress-'));
  rewritten = join(dir, 'pu20-ttbar-zlib.root');
  const source = await LocalFileSource.open(delphes('delphes-pu20-ttbar'));
  const writer = new DelphesFileWriter(await FileSink.create(rewritten));
  try {
    for await (const chunk of readDelphesEvents(source)) for (const event of chunk.events) await writer.fill(event);
  } finally {
    await source.close();
  }
  await writer.close();
});
after(() => rm(dir, { recursive: true, force: true }));

/** Every block with ROOT tag `tag` of every stored basket of the tree's branches, with its declared size. */
async function* blocks(
  file: string,
  treeName: string,
  tag: 'ZL' | 'ZS',
): AsyncGenerator<{ block: Uint8Array; size: number }> {
  const source = await LocalFileSource.open(file);
  try {
    const tree = await (await openRootFile(source)).getTree(treeName);
    for (const name of tree.branchNames()) {
      for (const loc of basketLocations(file, tree.branch(name))) {
        if (loc.embedded) continue;
        const bytes = await source.read(loc.seek, loc.bytes);
        const key = readKeyHeader(new Cursor(bytes, file, name));
        const payload = bytes.subarray(key.keylen, key.nbytes);
        if (payload.length === key.objlen) continue; // stored raw
        for (let at = 0; at + 9 <= payload.length; ) {
          const cSize = payload[at + 3]! | (payload[at + 4]! << 8) | (payload[at + 5]! << 16);
          const uSize = payload[at + 6]! | (payload[at + 7]! << 8) | (payload[at + 8]! << 16);
          if (String.fromCharCode(payload[at]!, payload[at + 1]!) === tag)
            yield { block: payload.subarray(at + 9, at + 9 + cSize), size: uSize };
          at += 9 + cSize;
        }
      }
    }
  } finally {
    await source.close();
  }
}

async function sameAsPortable(files: [string, string][], tag: 'ZL' | 'ZS'): Promise<void> {
  const codec = tag === 'ZL' ? 'zlib' : 'zstd';
  for (const [file, treeName] of files) {
    let n = 0;
    for await (const { block, size } of blocks(file, treeName, tag)) {
      const ours = native[codec](block, size);
      const theirs = portableDecompressors[codec](block, size);
      assert.equal(ours.length, size, `${file}: ${codec} block ${n} gave ${ours.length} of ${size} bytes`);
      assert.ok(Buffer.from(ours).equals(Buffer.from(theirs)), `${file}: ${codec} block ${n} differs`);
      n++;
    }
    assert.ok(n > 0, `${file}: no ${codec} blocks found`);
  }
}

describe('ROOT basket decompression', () => {
  it('libdeflate inflates every zlib block of the real files exactly as node zlib does', async () => {
    await sameAsPortable([...ZLIB_FILES, [rewritten, 'Delphes']], 'ZL');
  });

  it('libzstd decodes every ZSTD block of the real files exactly as fzstd does', async () => {
    await sameAsPortable(ZSTD_FILES, 'ZS');
  });

  it('both refuse corrupt data and data that decompresses past the declared size', () => {
    const data = new Uint8Array(50_000).map((_, i) => (i * 7919) % 251);
    const stream = new Uint8Array(deflateSync(data));
    for (const d of [native, portableDecompressors]) {
      assert.deepEqual(Buffer.from(d.zlib(stream, data.length)), Buffer.from(data), d.name);
      assert.throws(() => d.zlib(stream, data.length - 1), Error, `${d.name}: oversized`);
      const corrupt = stream.slice();
      corrupt[corrupt.length - 2]! ^= 0xff; // inside the Adler-32 checksum
      assert.throws(() => d.zlib(corrupt, data.length), Error, `${d.name}: bad checksum`);
      assert.throws(() => d.zlib(stream.subarray(0, 100), data.length), Error, `${d.name}: truncated`);
    }
    // A zlib stream shorter than declared comes back short, for the caller to report.
    assert.equal(native.zlib(stream, data.length + 10).length, data.length);
    // A Zstandard frame made by the zstd tool, then damaged inside its compressed blocks.
    const frame = new Uint8Array(execFileSync('zstd', ['-q', '-c', '-3'], { input: data }));
    assert.deepEqual(Buffer.from(native.zstd(frame, data.length)), Buffer.from(data));
    assert.throws(() => native.zstd(frame, data.length - 1), /Destination buffer is too small/);
    const bad = frame.slice();
    for (let i = 20; i < bad.length - 8; i += 7) bad[i]! ^= 0x5a;
    assert.throws(() => native.zstd(bad, data.length), Error);
  });

  it('HEPFLOW_DECOMPRESS chooses; without the addon the portable pair is the fallback, with the reason', () => {
    const missing = () => ({ error: 'native/decompress not built' });
    assert.equal(resolveDecompressors(undefined).decompressors.name, 'native');
    assert.equal(resolveDecompressors('portable').decompressors, portableDecompressors);
    const fallback = resolveDecompressors(undefined, missing);
    assert.equal(fallback.decompressors, portableDecompressors);
    assert.match(fallback.reason, /native unavailable: native\/decompress not built/);
    assert.throws(
      () => resolveDecompressors('native', missing),
      /HEPFLOW_DECOMPRESS=native but native\/decompress not built/,
    );
    assert.throws(() => resolveDecompressors('zlib'), /HEPFLOW_DECOMPRESS must be native or portable, got 'zlib'/);
    // The tests run without HEPFLOW_DECOMPRESS, so the reader itself uses the native ones.
    assert.equal(activeDecompressors().name, process.env['HEPFLOW_DECOMPRESS'] === 'portable' ? 'portable' : 'native');
  });
});
