/**
 * What HTTP and Kafka share: events (JSON) in, class probabilities and the selection's
 * accept decision out, through one micro-batcher over one loaded model.
 */
import type { InputRow } from '../ml/data.js';
import { predictProbabilities, type ModelBundle } from '../ml/model-bundle.js';
import { FeatureExtractor } from '../physics/features.js';
import type { Selection } from '../scoring/selection.js';
import { parseEvent } from './event-json.js';
import { MicroBatcher, type BatcherOptions } from './micro-batcher.js';
import { ServeMetrics } from './metrics.js';

export interface EventScore {
  readonly id: string | null;
  /** false: the isolated-lepton selection rejected the event (no probabilities). */
  readonly selected: boolean;
  readonly probabilities?: Record<string, number>;
  readonly predicted?: string;
  /** With a selection: p(class) >= threshold (false for unselected events). */
  readonly accepted?: boolean;
}

export const DEFAULT_BATCHER: BatcherOptions = { maxBatch: 256, maxDelayMs: 0, maxQueue: 8192 };

export class ScoringService {
  readonly batcher: MicroBatcher<InputRow, Float32Array>;
  /** Shared by every front end of this service (HTTP, gRPC, Kafka). */
  readonly metrics: ServeMetrics;
  private readonly extractor = new FeatureExtractor();
  private readonly selected: number;

  constructor(
    readonly bundle: ModelBundle,
    batcher: BatcherOptions = DEFAULT_BATCHER,
    readonly selection?: Selection,
  ) {
    const k = bundle.classNames.length;
    this.metrics = new ServeMetrics(batcher.maxBatch);
    this.batcher = new MicroBatcher(
      async (rows) => {
        const p = await predictProbabilities(bundle, rows);
        return rows.map((_, i) => p.subarray(i * k, (i + 1) * k));
      },
      batcher,
      (size, seconds) => this.metrics.batch(size, seconds),
    );
    this.selected = selection === undefined ? -1 : bundle.classNames.indexOf(selection.className);
    if (selection !== undefined && this.selected < 0)
      throw new Error(
        `selection class '${selection.className}' is not one of the model's classes ${bundle.classNames.join(', ')}`,
      );
  }

  /**
   * Scores a list of JSON events. Every event is parsed before any is queued, so a bad
   * one fails the whole call (BadEventError) without scoring the rest.
   */
  async score(events: readonly unknown[], where = 'events'): Promise<EventScore[]> {
    const parsed = events.map((e, i) => parseEvent(e, `${where}[${i}]`, this.extractor));
    const rows = parsed.flatMap((p) => (p.row === null ? [] : [p.row]));
    const probs = rows.length > 0 ? await this.batcher.submit(rows) : [];
    let next = 0;
    return parsed.map((p) => {
      if (p.row === null) return { id: p.id, selected: false, ...(this.selection ? { accepted: false } : {}) };
      const pr = probs[next++]!;
      let best = 0;
      for (let c = 1; c < pr.length; c++) if (pr[c]! > pr[best]!) best = c;
      return {
        id: p.id,
        selected: true,
        probabilities: Object.fromEntries(this.bundle.classNames.map((c, i) => [c, pr[i]!])),
        predicted: this.bundle.classNames[best]!,
        ...(this.selection ? { accepted: pr[this.selected]! >= this.selection.threshold } : {}),
      };
    });
  }
}
