/**
 * Cross-check: every branch that uproot reads as plain numbers or strings, in every
 * shared ROOT file and in a file from hepflow's own generator, must come out of hepflow's reader with identical values and
 * per-entry counts (test/python/reader_dump.py produces uproot's side).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateDelphesFile } from '../src/generator/file.js';
import { openRootFile, type BranchData } from '../src/root/reader/index.js';
import { LocalFileSource, sharedRootFile } from './helpers/local-source.js';

const PYTHON = resolve(process.cwd(), '.tools', 'venv', 'bin', 'python');
const SCRIPT = resolve(process.cwd(), 'test', 'python', 'reader_dump.py');

/** A file from hepflow's own generator and ROOT writer: a second, independent producer. */
const GENERATED = 'generated-delphes.root';

const FILES: readonly [string, string][] = [
  [GENERATED, 'Delphes'],
  ['uproot-HZZ.root', 'events'],
  ['uproot-HZZ-zlib.root', 'events'],
  ['uproot-HZZ-lz4.root', 'events'],
  ['uproot-HZZ-zstd.root', 'events'],
  ['uproot-HZZ-lzma.root', 'events'],
  ['uproot-HZZ-uncompressed.root', 'events'],
  ['uproot-Zmumu-zstd.root', 'events'],
  ['delphes-uproot-issue513.root', 'Delphes'],
];

interface Dumped {
  entries: number;
  branches: Record<string, { values: (number | string)[]; counts: number[] | null }>;
  skipped: Record<string, string>;
}

/** Branches uproot reads but hepflow's reader deliberately does not (see interpretation.ts). */
const NOT_SUPPORTED = /\.fBits$/;

function same(a: unknown, b: number | string): boolean {
  if (typeof b === 'string' && ['nan', 'inf', '-inf'].includes(b))
    return Object.is(Number(a), b === 'nan' ? NaN : Number(b.replace('inf', 'Infinity')));
  if (typeof a === 'bigint') return a === BigInt(b);
  return a === b;
}

function counts(d: BranchData): number[] | null {
  if (!d.offsets) return null;
  return Array.from({ length: d.offsets.length - 1 }, (_, i) => d.offsets![i + 1]! - d.offsets![i]!);
}

describe('values identical to uproot', { timeout: 120_000 }, () => {
  let dump: Record<string, Dumped> = {};
  let dir = '';
  const pathOf = (file: string): string => (file === GENERATED ? join(dir, file) : sharedRootFile(file));
  before(async () => {
    assert.ok(existsSync(PYTHON), `the project venv is missing (${PYTHON}); run npm run setup`);
    dir = await mkdtemp(join(tmpdir(), 'hepflow-reader-uproot-'));
    await generateDelphesFile(pathOf(GENERATED), { events: 150, seed: 3 });
    const args = FILES.map(([file, tree]) => `${pathOf(file)}:${tree}`);
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, ...args], { maxBuffer: 256 * 1024 * 1024 });
    dump = JSON.parse(stdout) as Record<string, Dumped>;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [file, treeName] of FILES) {
    it(file, async () => {
      const expected = dump[`${pathOf(file)}:${treeName}`];
      assert.ok(expected, `uproot produced no dump for ${file}`);
      const source = await LocalFileSource.open(pathOf(file));
      try {
        const tree = await (await openRootFile(source)).getTree(treeName);
        assert.equal(tree.numEntries, expected.entries);
        const names = Object.keys(expected.branches).filter((n) => !NOT_SUPPORTED.test(n));
        assert.ok(names.length >= 20, `only ${names.length} branches to compare`);
        const got = await tree.readBranches(names);
        let values = 0;
        for (const name of names) {
          const want: (typeof expected.branches)[string] = expected.branches[name]!;
          const d = got.get(name)!;
          assert.deepEqual(counts(d), want.counts, `${name}: per-entry counts`);
          assert.equal(d.values.length, want.values.length, `${name}: number of values`);
          for (let i = 0; i < want.values.length; i++) {
            if (!same(d.values[i], want.values[i]!))
              assert.fail(`${file} ${name}[${i}]: reader ${String(d.values[i])}, uproot ${want.values[i]}`);
          }
          values += want.values.length;
        }
        assert.ok(values > 0);
      } finally {
        await source.close();
      }
    });
  }
});
