/**
 * Bad input must fail with the reader's own error classes, naming the file and the
 * cause: non-ROOT bytes, truncated copies, corrupted bytes, missing trees and branches.
 * Never a raw RangeError or TypeError out of a DataView.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  MissingBranchError,
  MissingTreeError,
  openRootFile,
  RootFormatError,
  RootReaderError,
  UnsupportedRootFeatureError,
} from '../src/root/reader/index.js';
import { RootFileError } from '../src/errors.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hepflow-reader-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withFile<T>(name: string, bytes: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return fn(path);
}

/** Opens `path` and reads every branch of `tree`; resolves when everything read. */
async function readEverything(path: string, tree: string): Promise<void> {
  const source = await LocalFileSource.open(path);
  try {
    const t = await (await openRootFile(source)).getTree(tree);
    const names = t.branchNames().filter((n) => {
      try {
        t.interpretation(n);
        return true;
      } catch (error) {
        if (error instanceof UnsupportedRootFeatureError) return false;
        throw error;
      }
    });
    await t.readBranches(names);
  } finally {
    await source.close();
  }
}

/** Deterministic pseudo-random positions, so a failure reproduces. */
function* positions(seed: number, count: number, size: number): Generator<number> {
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    yield x % size;
  }
}

function assertReaderError(error: unknown, path: string, context: string): void {
  if (!(error instanceof RootReaderError)) {
    assert.fail(
      `${context}: expected a RootReaderError, got ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`,
    );
  }
  assert.ok(error.message.includes(path.split('/').at(-1)!), `${context}: message names the file: ${error.message}`);
  assert.ok(error instanceof RootFileError, 'reader errors are RootFileErrors (non-retryable for activities)');
}

describe('reader errors', () => {
  it('a non-ROOT file', async () => {
    await withFile('not-root.root', new TextEncoder().encode('PAR1 this is a parquet file, honest'), async (path) => {
      const error = await readEverything(path, 'events').then(
        () => assert.fail('opened a non-ROOT file'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RootFormatError);
      assert.match(error.message, /not a ROOT file/);
      assertReaderError(error, path, 'non-ROOT');
    });
    await withFile('tiny.root', new Uint8Array([0x72, 0x6f]), async (path) => {
      await assert.rejects(
        readEverything(path, 'events'),
        (e: unknown) => e instanceof RootFormatError && /only 2 bytes/.test((e as Error).message),
      );
    });
  });

  it('truncated copies say they are truncated', async () => {
    const full = await readFile(sharedRootFile('uproot-HZZ-zlib.root'));
    for (const length of [10, 60, 400, 5000, Math.floor(full.length / 2), full.length - 1]) {
      await withFile(`cut-${length}.root`, full.subarray(0, length), async (path) => {
        const error = await readEverything(path, 'events').then(
          () => assert.fail(`read a file cut at ${length} bytes`),
          (e: unknown) => e,
        );
        assertReaderError(error, path, `cut at ${length}`);
        assert.match((error as Error).message, /truncated/);
      });
    }
  });

  it('truncated copies whose header was patched to match still fail cleanly', async () => {
    // A copy whose header claims the shorter length gets past the header check, so the
    // deeper layers (keys list, TTree, baskets) meet the missing bytes themselves.
    const full = new Uint8Array(await readFile(sharedRootFile('uproot-HZZ-zlib.root')));
    for (const length of positions(7, 25, full.length)) {
      if (length < 64) continue;
      const cut = full.slice(0, length);
      new DataView(cut.buffer).setInt32(12, length); // fEND of a small-file header
      await withFile(`patched-${length}.root`, cut, async (path) => {
        await readEverything(path, 'events').then(
          () => assert.fail(`read everything from a file cut at ${length} bytes`),
          (e: unknown) => assertReaderError(e, path, `patched cut at ${length}`),
        );
      });
    }
  });

  it('corrupted bytes give reader errors or correct-looking reads, never raw exceptions', async () => {
    for (const file of ['uproot-HZZ-zlib.root', 'uproot-HZZ-lz4.root', 'delphes-uproot-issue513.root']) {
      const full = new Uint8Array(await readFile(sharedRootFile(file)));
      const tree = file.startsWith('delphes') ? 'Delphes' : 'events';
      let failures = 0;
      for (const at of positions(11, 40, full.length)) {
        const bad = full.slice();
        for (let i = at; i < Math.min(at + 8, bad.length); i++) bad[i] = bad[i]! ^ 0xa5;
        await withFile(`corrupt-${at}-${file}`, bad, async (path) => {
          await readEverything(path, tree).catch((e: unknown) => {
            failures++;
            assertReaderError(e, path, `${file} corrupted at ${at}`);
          });
        });
      }
      assert.ok(failures > 0, `${file}: no corruption was detected at all`);
    }
  });

  it('an LZ4 basket with a bad checksum is rejected as corrupt', async () => {
    const full = new Uint8Array(await readFile(sharedRootFile('uproot-HZZ-lz4.root')));
    const source = await LocalFileSource.open(sharedRootFile('uproot-HZZ-lz4.root'));
    const t = await (await openRootFile(source)).getTree('events');
    const seek = t.branch('Muon_Px').basketSeek[0]!;
    await source.close();
    const bad = full.slice();
    // Past the key (~80 bytes), the 9-byte block header and the 8-byte checksum.
    bad[seek + 200] = bad[seek + 200]! ^ 0xff;
    await withFile('bad-lz4.root', bad, async (path) => {
      const s = await LocalFileSource.open(path);
      const tree = await (await openRootFile(s)).getTree('events');
      await assert.rejects(
        tree.readBranch('Muon_Px'),
        (e: unknown) =>
          e instanceof RootFormatError &&
          /XXH64 checksum/.test((e as Error).message) &&
          /Muon_Px/.test((e as Error).message),
      );
      await s.close();
    });
  });

  it('missing tree and missing branch name the file and what is missing', async () => {
    const source = await LocalFileSource.open(sharedRootFile('delphes-uproot-issue513.root'));
    const file = await openRootFile(source);
    await assert.rejects(
      file.getTree('events'),
      (e: unknown) =>
        e instanceof MissingTreeError &&
        /delphes-uproot-issue513\.root/.test((e as Error).message) &&
        /Delphes;1/.test((e as Error).message),
    );
    const t = await file.getTree('Delphes');
    await assert.rejects(
      t.readBranch('MuonTight.PT'),
      (e: unknown) =>
        e instanceof MissingBranchError &&
        e.branchName === 'MuonTight.PT' &&
        /delphes-uproot-issue513\.root/.test(e.message),
    );
    await assert.rejects(
      t.readBranch('Jet.Constituents'),
      (e: unknown) => e instanceof UnsupportedRootFeatureError && /Jet\.Constituents/.test((e as Error).message),
    );
    await source.close();
  });
});
