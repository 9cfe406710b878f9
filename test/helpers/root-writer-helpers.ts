/**
 * Independent readers for files produced by src/root/writer: jsroot (in process)
 * and uproot (test/python/writer_dump.py in the project venv).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openFile } from 'jsroot/io';
import { TSelector, treeProcess, type JsrootBranch, type JsrootTree } from 'jsroot/tree';
import type { BranchSpec, Entry } from '../../src/root/writer/index.js';

const run = promisify(execFile);

/** Repository root, from dist/test/helpers/<file>.js or test/helpers/<file>.ts. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

export const PYTHON = join(repoRoot(), '.tools/venv/bin/python');
export const REAL_DELPHES = resolve(repoRoot(), '../shared/testdata/root/delphes-uproot-issue513.root');

export type Value = number | number[];

export interface UprootDump {
  entries: number;
  branches: Record<string, Value[]>;
  meta: Record<string, Record<string, unknown>>;
  file: { fVersion: number; fEND: number; fSeekInfo: number; keys: string[] };
  streamers: Record<string, Record<string, string[]>>;
  checksums: Record<string, Record<string, number>>;
}

/** uproot's view of a tree; `metaOnly` skips reading values (branch structure, streamers). */
export async function uprootDump(path: string, tree: string, metaOnly = false): Promise<UprootDump> {
  const args = [join(repoRoot(), 'test/python/writer_dump.py'), path, tree, ...(metaOnly ? ['--meta-only'] : [])];
  const { stdout } = await run(PYTHON, args, { maxBuffer: 512 * 1024 * 1024 });
  return JSON.parse(stdout) as UprootDump;
}

const toNumber = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  throw new Error(`unexpected jsroot value ${String(v)}`);
};

function leafBranches(list: JsrootBranch[] | undefined, out: JsrootBranch[] = []): JsrootBranch[] {
  for (const b of list ?? []) {
    if (b.fBranches?.arr.length) leafBranches(b.fBranches.arr, out);
    else out.push(b);
  }
  return out;
}

export interface JsrootDump {
  entries: number;
  topBranches: string[];
  branches: Record<string, Value[]>;
}

/** Reads every branch without sub-branches, entry by entry, with jsroot. */
export async function jsrootDump(path: string, treeName: string, only?: readonly string[]): Promise<JsrootDump> {
  const file = await openFile(path);
  try {
    const tree = (await file.readObject(treeName)) as JsrootTree;
    const branches = leafBranches(tree.fBranches.arr).filter((b) => !only || only.includes(b.fName));
    const out: Record<string, Value[]> = {};
    if (tree.fEntries > 0 && branches.length > 0) {
      const selector = new TSelector();
      const names = branches.map((b, i) => {
        selector.addBranch(b, `b${i}`);
        out[b.fName] = [];
        return b.fName;
      });
      selector.Process = function () {
        names.forEach((name, i) => {
          const v = this.tgtobj[`b${i}`];
          out[name]!.push(
            v !== null && typeof v === 'object' ? Array.from(v as ArrayLike<unknown>, toNumber) : toNumber(v),
          );
        });
      };
      await treeProcess(tree, selector);
    }
    return { entries: tree.fEntries, topBranches: tree.fBranches.arr.map((b) => b.fName), branches: out };
  } finally {
    file.delete();
  }
}

export const BRANCHES: BranchSpec[] = [
  { name: 'f32', type: 'f32' },
  { name: 'f64', type: 'f64' },
  { name: 'i32', type: 'i32' },
  { name: 'i64', type: 'i64' },
  { name: 'u32', type: 'u32' },
  { name: 'flag', type: 'bool' },
  { name: 'Jet.PT', type: 'f32', counter: 'Jet_size' },
  { name: 'Jet.BTag', type: 'u32', counter: 'Jet_size' },
  { name: 'Jet.Flag', type: 'bool', counter: 'Jet_size' },
  { name: 'Trk.D0', type: 'f64', counter: 'nTrk' },
  { name: 'Trk.Id', type: 'i64', counter: 'nTrk' },
  { name: 'Trk.Q', type: 'i32', counter: 'nTrk' },
];

/** Deterministic entries with every type, zero-length collections and extreme values. */
export function makeEntries(n: number): { entries: Entry[]; expected: Record<string, Value[]> } {
  const entries: Entry[] = [];
  const expected: Record<string, Value[]> = {};
  const put = (k: string, v: Value) => (expected[k] ??= []).push(v);
  for (let i = 0; i < n; i++) {
    const nj = (i * 7) % 6; // 0..5, zero-length collections included
    const nt = i % 3 === 0 ? 0 : (i % 11) + 1;
    const pt = Array.from({ length: nj }, (_, k) => Math.fround(10 + i * 0.37 + k * 1.1));
    const btag = Array.from({ length: nj }, (_, k) => (k % 2 ? 0xfffffff0 + k : k));
    const jflag = Array.from({ length: nj }, (_, k) => (i + k) % 2 === 0);
    const d0 = Array.from({ length: nt }, (_, k) => (i - k) / 7);
    const id = Array.from({ length: nt }, (_, k) => (k % 2 ? -1 : 1) * (2 ** 52 - i * 1000 - k));
    const q = Array.from({ length: nt }, (_, k) => (k % 2 ? -1 : 1) * (i + k));
    const e: Entry = {
      f32: i * 0.1 - 3,
      f64: Math.PI * i - 1e10,
      i32: i % 2 ? -2147483648 + i : 2147483647 - i,
      i64: BigInt(i - 200) * 12345678912345n,
      u32: 4294967295 - i,
      flag: i % 3 === 0,
      'Jet.PT': Float32Array.from(pt),
      'Jet.BTag': Uint32Array.from(btag),
      'Jet.Flag': jflag,
      'Trk.D0': Float64Array.from(d0),
      'Trk.Id': id.map((x) => BigInt(x)),
      'Trk.Q': Int32Array.from(q),
    };
    entries.push(e);
    put('f32', Math.fround(i * 0.1 - 3));
    put('f64', Math.PI * i - 1e10);
    put('i32', e['i32'] as number);
    put('i64', Number(e['i64']));
    put('u32', 4294967295 - i);
    put('flag', i % 3 === 0 ? 1 : 0);
    put('Jet_size', nj);
    put('Jet.PT', pt);
    put('Jet.BTag', btag);
    put(
      'Jet.Flag',
      jflag.map((b) => (b ? 1 : 0)),
    );
    put('nTrk', nt);
    put('Trk.D0', d0);
    put('Trk.Id', id);
    put('Trk.Q', q);
  }
  return { entries, expected };
}
