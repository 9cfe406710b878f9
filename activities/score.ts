/**
 * The scoring activities: `scoreFile` (one input into one part of per-event class
 * probabilities) and `summarizeScores` (the selection's efficiency table over every
 * part), both src/stages/score.ts.
 */
import type { ScoreFileInput, ScoreFileResult, ScoreSummary, ScoreSummaryInput } from '../src/stages/score.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export const scoreActivities = ({ storage }: ActivityDeps) => ({
  /** Per-event class probabilities of one file into one content-addressed part (src/stages/score.ts). */
  async scoreFile(input: ScoreFileInput): Promise<ScoreFileResult> {
    const { scoreFilePart } = await import('../src/stages/score.js');
    try {
      return await withHeartbeat((report) => scoreFilePart(storage, input, (scored) => report({ scored })));
    } catch (e) {
      throw toActivityFailure(e);
    }
  },

  /** The selection's efficiency table and accepted list over every scored part. */
  async summarizeScores(input: ScoreSummaryInput): Promise<Omit<ScoreSummary, 'efficiency'>> {
    const { summarizeScoreParts } = await import('../src/stages/score.js');
    try {
      // The table lives in object storage; the workflow history carries its URI only.
      const { efficiency: _table, ...summary } = await withHeartbeat(() => summarizeScoreParts(storage, input));
      return summary;
    } catch (e) {
      throw toActivityFailure(e);
    }
  },
});
