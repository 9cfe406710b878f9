/**
 * The ingest activity: `inspectRootFile` opens one ROOT file through ranged reads and
 * summarizes its tree (src/root/tree-summary.ts); a bad file fails non-retryably, naming
 * it.
 */
import { summarizeTree, type TreeSummary } from '../src/root/tree-summary.js';
import type { FileRef, PerFileOutcome } from '../src/contract/fan-out.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export const ingestActivities = ({ storage }: ActivityDeps) => ({
  /** Opens one ROOT file through ranged reads and summarizes its tree (src/root/tree-summary.ts). */
  async inspectRootFile(input: {
    file: FileRef;
    /** Absent: the file's first TTree. */
    treeName?: string;
    statBranches: string[];
  }): Promise<PerFileOutcome & TreeSummary> {
    return withHeartbeat(async () => {
      const source = await storage.openRead(input.file.uri).catch((e) => {
        throw toActivityFailure(e);
      });
      try {
        const summary = await summarizeTree(source, input.treeName, input.statBranches);
        return { ...summary, counters: { entries: summary.entries } };
      } catch (e) {
        throw toActivityFailure(e);
      } finally {
        await source.close();
      }
    });
  },
});
