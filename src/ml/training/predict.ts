/**
 * Prediction over batches of rows (a validation split, a test set): softmax outputs,
 * labels and the mean cross-entropy, through the fused predictor where the model has
 * one (fused-predict.ts) and tfjs otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, labelArrays, makeBatch, type BatchOptions, type TrainingRow } from '../data.js';
import { fusedPredictor } from '../fused-predict.js';
import { eventLoopTurns } from '../../yield.js';

/** Runs the model over the validation split: softmax outputs, labels, mean loss. */
export async function predictRows(
  model: tf.LayersModel,
  batches: AsyncIterable<readonly TrainingRow[]>,
  o: BatchOptions,
  where: string,
): Promise<{ probs: Float32Array; labels: Int32Array; loss: number }> {
  const probs: Float32Array[] = [];
  const labels: Int32Array[] = [];
  let lossSum = 0;
  let n = 0;
  // Evaluation runs on an activity's own thread: let its heartbeat timer through.
  const turn = eventLoopTurns();
  const fused = fusedPredictor(model, o.kind);
  const predict = async (rows: readonly TrainingRow[]): Promise<{ p: Float32Array; labelIndex: Int32Array }> => {
    if (fused !== null) {
      const { labelIndex } = labelArrays(rows, o.nClasses, where);
      return { p: fused(rows, o, where), labelIndex };
    }
    const b = makeBatch(rows, o, where);
    try {
      const out = model.predict(b.inputs.length === 1 ? b.inputs[0]! : b.inputs) as tf.Tensor;
      const p = (await out.data()) as Float32Array;
      out.dispose();
      return { p, labelIndex: b.labelIndex };
    } finally {
      disposeBatch(b);
    }
  };
  for await (const rows of batches) {
    await turn();
    const { p, labelIndex } = await predict(rows);
    for (let i = 0; i < labelIndex.length; i++)
      lossSum -= Math.log(Math.max(p[i * o.nClasses + labelIndex[i]!]!, 1e-7));
    probs.push(p);
    labels.push(labelIndex);
    n += labelIndex.length;
  }
  const cat = <T extends Float32Array | Int32Array>(parts: T[], make: (len: number) => T): T => {
    const out = make(parts.reduce((s, a) => s + a.length, 0));
    let off = 0;
    for (const a of parts) {
      out.set(a, off);
      off += a.length;
    }
    return out;
  };
  return {
    probs: cat(probs, (l) => new Float32Array(l)),
    labels: cat(labels, (l) => new Int32Array(l)),
    loss: n ? lossSum / n : NaN,
  };
}
