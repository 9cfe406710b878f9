import { Context } from '@temporalio/activity';
import { storage } from '../src/storage/index.js';
import { summarizeTree, type TreeSummary } from '../src/root/tree-summary.js';
import type { FileRef, PerFileOutcome } from '../workflows/file-batches-types.js';
import { nonRetryable } from './file-batches.js';

/** Opens one ROOT file through ranged reads and summarizes its tree (src/root/tree-summary.ts). */
export async function inspectRootFile(input: {
  file: FileRef;
  /** Absent: the file's first TTree. */
  treeName?: string;
  statBranches: string[];
}): Promise<PerFileOutcome & TreeSummary> {
  const ctx = Context.current();
  const source = await storage().openRead(input.file.uri).catch((e) => {
    throw nonRetryable(e);
  });
  const beat = setInterval(() => ctx.heartbeat(), 5_000);
  try {
    const summary = await summarizeTree(source, input.treeName, input.statBranches);
    return { ...summary, counters: { entries: summary.entries } };
  } catch (e) {
    throw nonRetryable(e);
  } finally {
    clearInterval(beat);
    await source.close();
  }
}
