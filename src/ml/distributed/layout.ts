/**
 * Where a distributed training run keeps its state in object storage, under the run's
 * output URI. Every object is keyed by round (and shard), so a retried activity
 * overwrites exactly what its failed attempt may have half-written, and the object
 * written last (state.json, result.json) marks a directory complete.
 *
 *   <out>/distributed/plan.json                        row groups, config, scalers
 *   <out>/distributed/rounds/r-NNNNNN/start/           the round's starting parameters:
 *       weights.bin, optimizer.bin, state.json (last)  = the checkpoint of the run so far
 *   <out>/distributed/rounds/r-NNNNNN/shard-KKKK/      one worker's result of the round:
 *       weights.bin, optimizer.bin, result.json (last)
 *   <out>/distributed/rounds/r-NNNNNN/average/         an epoch's last round: the averaged
 *       weights.bin, optimizer.bin, state.json (last)  parameters awaiting validation
 *   <out>/distributed/rounds/r-NNNNNN/validation/      their validation, one part per shard:
 *       part-KKKK.scores.bin, part-KKKK.json (last)
 *   <out>/distributed/best/epoch-NNNNNN.bin(.report.json)  weights and validation report of the best epoch so far
 *   <out>/model/                                       the final model, as single-worker training writes it
 */
import { joinUri } from '../../storage/uri-path.js';
import { trainFiles } from '../../contract/run-layout.js';

const pad = (n: number) => String(n).padStart(6, '0');

export function runLayout(outputUri: string) {
  const { distributed: root, model } = trainFiles(outputUri);
  const round = (r: number) => joinUri(root, `rounds/r-${pad(r)}`);
  const start = (r: number) => joinUri(round(r), 'start');
  const shard = (r: number, k: number) => joinUri(round(r), `shard-${String(k).padStart(4, '0')}`);
  return {
    root,
    plan: joinUri(root, 'plan.json'),
    roundsPrefix: `${joinUri(root, 'rounds')}/`,
    round,
    start: (r: number) => ({
      weights: joinUri(start(r), 'weights.bin'),
      optimizer: joinUri(start(r), 'optimizer.bin'),
      state: joinUri(start(r), 'state.json'),
    }),
    shard: (r: number, k: number) => ({
      weights: joinUri(shard(r, k), 'weights.bin'),
      optimizer: joinUri(shard(r, k), 'optimizer.bin'),
      result: joinUri(shard(r, k), 'result.json'),
    }),
    average: (r: number) => ({
      weights: joinUri(round(r), 'average/weights.bin'),
      optimizer: joinUri(round(r), 'average/optimizer.bin'),
      state: joinUri(round(r), 'average/state.json'),
    }),
    validation: (r: number, k: number) => {
      const part = joinUri(round(r), `validation/part-${String(k).padStart(4, '0')}`);
      return { scores: `${part}.scores.bin`, result: `${part}.json` };
    },
    best: (epoch: number) => joinUri(root, `best/epoch-${pad(epoch)}.bin`),
    model,
  };
}

/** The round number of a start state's key, for finding the newest complete round. */
export function roundOfStartState(uri: string): number | undefined {
  const m = /\/rounds\/r-(\d{6})\/start\/state\.json$/.exec(uri);
  return m ? Number(m[1]) : undefined;
}
