import { Context } from '@temporalio/activity';
import { evaluateOnTestSet, type EvaluateInput, type EvaluateResult } from '../src/stages/evaluate.js';
import { nonRetryable } from './file-batches.js';

/** Test-set evaluation of a trained model (see src/stages/evaluate.ts). */
export async function evaluateTestSet(input: EvaluateInput): Promise<EvaluateResult> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 5_000);
  try {
    return await evaluateOnTestSet(input);
  } catch (e) {
    throw nonRetryable(e);
  } finally {
    clearInterval(beat);
  }
}
