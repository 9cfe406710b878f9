import { evaluateOnTestSet, type EvaluateInput, type EvaluateResult } from '../src/stages/evaluate.js';
import { nonRetryable } from '../src/contract/errors.js';
import { withHeartbeat } from './heartbeat.js';

/** Test-set evaluation of a trained model (see src/stages/evaluate.ts). */
export async function evaluateTestSet(input: EvaluateInput): Promise<EvaluateResult> {
  return withHeartbeat(async () => {
    try {
      return await evaluateOnTestSet(input);
    } catch (e) {
      throw nonRetryable(e);
    }
  });
}
