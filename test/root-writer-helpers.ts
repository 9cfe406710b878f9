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

const run = promisify(execFile);

/** Repository root, from dist/test/<file>.js or test/<file>.ts. */
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

export async function uprootDump(path: string, tree: string): Promise<UprootDump> {
  const { stdout } = await run(PYTHON, [join(repoRoot(), 'test/python/writer_dump.py'), path, tree], { maxBuffer: 512 * 1024 * 1024 });
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
          out[name]!.push(v !== null && typeof v === 'object' ? Array.from(v as ArrayLike<unknown>, toNumber) : toNumber(v));
        });
      };
      await treeProcess(tree, selector);
    }
    return { entries: tree.fEntries, topBranches: tree.fBranches.arr.map((b) => b.fName), branches: out };
  } finally {
    file.delete();
  }
}
