/**
 * The test-set evaluation activity over src/stages/evaluate.ts: heartbeats while it
 * runs; bad input (a model or dataset that cannot be read as one) fails non-retryably.
 */
import type { EvaluateInput, EvaluateResult } from '../src/stages/evaluate.js';
import { toActivityFailure } from '../src/contract/errors.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeat } from './heartbeat.js';

export const evaluateActivities = ({ storage }: ActivityDeps) => ({
  /** Test-set evaluation of a trained model (see src/stages/evaluate.ts). */
  async evaluateTestSet(input: EvaluateInput): Promise<EvaluateResult> {
    return withHeartbeat(async () => {
      const { evaluateOnTestSet } = await import('../src/stages/evaluate.js');
      try {
        return await evaluateOnTestSet(input, storage);
      } catch (e) {
        throw toActivityFailure(e);
      }
    });
  },
});
