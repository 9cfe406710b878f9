/**
 * Scores feature rows in batches as they arrive: a FeatureSink, so feature preparation
 * from ROOT and a Parquet part reader feed it alike. Memory is one batch of rows.
 */
import type { FeatureRow, FeatureSink } from '../physics/schema.js';
import { predictProbabilities, type ModelBundle } from '../ml/model-bundle.js';
import { countEvent, type SelectionCounts } from './selection.js';
import type { ScoreRow } from './score-file.js';

export interface ScorerOptions {
  /** Events per model call (default 1024). */
  readonly batchSize?: number | undefined;
  /** The true class index of a row, or -1 when unknown. */
  readonly truth: (row: FeatureRow) => number;
  /** Counts for the selection's efficiency table, when there is a selection. */
  readonly counts?: SelectionCounts | undefined;
  /** Called after every batch with the rows scored so far. */
  readonly onBatch?: (scored: number) => void;
}

export class BatchScorer implements FeatureSink {
  private pending: FeatureRow[] = [];
  private readonly batchSize: number;
  private readonly selected: number;
  scored = 0;

  constructor(
    private readonly bundle: ModelBundle,
    private readonly out: { write(row: ScoreRow): Promise<void> },
    private readonly o: ScorerOptions,
  ) {
    this.batchSize = o.batchSize ?? 1024;
    this.selected = o.counts === undefined ? -1 : bundle.classNames.indexOf(o.counts.selection.className);
    if (o.counts !== undefined && this.selected < 0) {
      throw new Error(
        `selection class '${o.counts.selection.className}' is not one of the model's classes ${bundle.classNames.join(', ')}`,
      );
    }
  }

  async write(row: FeatureRow): Promise<void> {
    this.pending.push(row);
    if (this.pending.length >= this.batchSize) await this.flush();
  }

  /** Scores what is buffered; call once more after the last row. */
  async flush(): Promise<void> {
    const rows = this.pending;
    if (rows.length === 0) return;
    this.pending = [];
    const k = this.bundle.classNames.length;
    const probs = await predictProbabilities(this.bundle, rows, `${this.bundle.uri} on ${rows[0]!.sourceUri}`);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const label = this.o.truth(row);
      const p = probs.subarray(i * k, (i + 1) * k);
      if (this.o.counts !== undefined)
        countEvent(
          this.o.counts,
          label >= 0 ? (this.bundle.classNames[label] ?? `class ${label}`) : 'unlabelled',
          p[this.selected]!,
        );
      await this.out.write({ sourceUri: row.sourceUri, sourceEntry: row.sourceEntry, label, probs: p });
    }
    this.scored += rows.length;
    this.o.onBatch?.(this.scored);
  }
}
