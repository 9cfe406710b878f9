import { openFile, type JsrootFile } from 'jsroot/io';
import { TSelector, treeProcess, type JsrootTree } from 'jsroot/tree';
import { findBranch, SourceProxy } from './file-proxy.js';
import type { RandomAccessSource } from '../../storage/random-access.js';
import { RootFileError } from '../errors.js';

/** Aggregate of one branch over all entries: enough to verify a read end to end. */
export interface BranchStats {
  readonly count: number;
  readonly sum: number;
  /** The branch's value(s) in entry 0, flattened. */
  readonly first: number[];
}

export interface TreeSummary {
  readonly treeName: string;
  readonly entries: number;
  /** Top-level branch names (Delphes collections, or flat ntuple columns). */
  readonly branches: string[];
  readonly stats: Record<string, BranchStats>;
}

const flatten = (v: unknown, out: number[]): void => {
  if (typeof v === 'number') out.push(v);
  else if (typeof v === 'bigint') out.push(Number(v));
  else if (typeof v === 'boolean') out.push(v ? 1 : 0);
  else if (v !== null && typeof v === 'object' && Symbol.iterator in v) for (const x of v as Iterable<unknown>) flatten(x, out);
  else throw new Error(`unsupported value of type ${typeof v}`);
};


async function open(source: RandomAccessSource): Promise<JsrootFile> {
  try {
    return await openFile(new SourceProxy(source));
  } catch (e) {
    if (e instanceof RootFileError) throw e;
    throw new RootFileError(source.uri, `not a readable ROOT file (${(e as Error)?.message ?? e})`, { cause: e });
  }
}

/**
 * Opens a ROOT file with jsroot and summarizes one tree (by default the first TTree): entries, branches, and, for
 * the requested branches, value counts and sums read through every basket.
 */
export async function summarizeTree(
  source: RandomAccessSource,
  requestedTree: string | undefined,
  statBranches: readonly string[] = [],
): Promise<TreeSummary> {
  const file = await open(source);
  try {
    const treeName = requestedTree ?? file.fKeys.find((k) => k.fClassName === 'TTree' || k.fClassName === 'TNtuple')?.fName;
    if (treeName === undefined || !file.fKeys.some((k) => k.fName === treeName)) {
      const found = file.fKeys.map((k) => `${k.fName} (${k.fClassName})`).join(', ') || 'none';
      throw new RootFileError(source.uri, `${requestedTree ? `tree '${requestedTree}' not found` : 'no TTree in the file'}; keys: ${found}`);
    }
    let tree: JsrootTree;
    try {
      tree = (await file.readObject(treeName)) as JsrootTree;
    } catch (e) {
      throw new RootFileError(source.uri, `cannot read tree '${treeName}' (${(e as Error)?.message ?? e})`, { cause: e });
    }
    if (!tree || !String(tree._typename).startsWith('TTree') && !String(tree._typename).startsWith('TNtuple')) {
      throw new RootFileError(source.uri, `'${treeName}' is a ${tree?._typename ?? 'unreadable object'}, not a TTree`);
    }
    const stats: Record<string, BranchStats> = {};
    if (statBranches.length > 0 && tree.fEntries > 0) {
      const selector = new TSelector();
      const acc = statBranches.map((name) => {
        const branch = findBranch(tree, name);
        if (!branch) throw new RootFileError(source.uri, `branch '${name}' not found in tree '${treeName}'`);
        selector.addBranch(branch, name);
        return { name, count: 0, sum: 0, first: [] as number[] };
      });
      const scratch: number[] = [];
      selector.Process = function (entry: number) {
        for (const a of acc) {
          scratch.length = 0;
          flatten(this.tgtobj[a.name], scratch);
          a.count += scratch.length;
          for (const x of scratch) a.sum += x;
          if (entry === 0) a.first = scratch.slice();
        }
      };
      try {
        await treeProcess(tree, selector);
      } catch (e) {
        throw new RootFileError(source.uri, `reading branches of '${treeName}' failed (${(e as Error)?.message ?? e})`, { cause: e });
      }
      for (const a of acc) stats[a.name] = { count: a.count, sum: a.sum, first: a.first };
    }
    return {
      treeName,
      entries: tree.fEntries,
      branches: tree.fBranches.arr.map((b) => b.fName),
      stats,
    };
  } finally {
    file.delete();
  }
}
