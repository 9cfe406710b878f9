/**
 * A trigger-style selection on one class's probability (`--select ttbar>=0.8`) and the
 * efficiency of every true class against the threshold, from per-file histograms that
 * add up across files.
 */
import type { Selection } from '../contract/selection.js';

export type { Selection };

/** Histogram bins of the selected class's probability: bin b holds p in [b/BINS, (b+1)/BINS). */
export const BINS = 1000;

export function parseSelection(text: string, classNames: readonly string[]): Selection {
  const m = /^\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9]*\.?[0-9]+(?:e-?\d+)?)\s*$/.exec(text);
  if (!m) throw new Error(`selection '${text}': expected <class>>=<threshold>, e.g. ttbar>=0.8`);
  const className = classNames.find((c) => c.toLowerCase() === m[1]!.toLowerCase());
  if (className === undefined)
    throw new Error(`selection '${text}': unknown class '${m[1]}' (the model's classes: ${classNames.join(', ')})`);
  const threshold = Number(m[2]);
  if (!(threshold >= 0 && threshold <= 1)) throw new Error(`selection '${text}': threshold must be in [0, 1]`);
  return { className, threshold };
}

/** Per true class (or 'unlabelled'): events, accepted events and the probability histogram. */
export interface SelectionCounts {
  readonly selection: Selection;
  readonly byTruth: Record<string, { events: number; accepted: number; histogram: number[] }>;
}

export function emptyCounts(selection: Selection): SelectionCounts {
  return { selection, byTruth: {} };
}

export function countEvent(c: SelectionCounts, truth: string, p: number): void {
  const t = (c.byTruth[truth] ??= { events: 0, accepted: 0, histogram: new Array<number>(BINS).fill(0) });
  t.events++;
  if (p >= c.selection.threshold) t.accepted++;
  t.histogram[Math.min(BINS - 1, Math.max(0, Math.floor(p * BINS)))]!++;
}

export function addCounts(into: SelectionCounts, other: SelectionCounts): void {
  for (const [truth, o] of Object.entries(other.byTruth)) {
    const t = (into.byTruth[truth] ??= { events: 0, accepted: 0, histogram: new Array<number>(BINS).fill(0) });
    t.events += o.events;
    t.accepted += o.accepted;
    for (let b = 0; b < BINS; b++) t.histogram[b]! += o.histogram[b]!;
  }
}

export interface EfficiencyTable {
  readonly selection: Selection;
  readonly thresholds: number[];
  /** Per true class: events, and the fraction with p >= each threshold; `atSelection` is exact. */
  readonly classes: { truth: string; events: number; accepted: number; atSelection: number; efficiency: number[] }[];
}

/** Efficiency at thresholds that are multiples of 1/BINS (exact there), plus the selection's own (exact). */
export function efficiencyTable(
  c: SelectionCounts,
  thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
): EfficiencyTable {
  return {
    selection: c.selection,
    thresholds,
    classes: Object.entries(c.byTruth)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([truth, t]) => ({
        truth,
        events: t.events,
        accepted: t.accepted,
        atSelection: t.events ? t.accepted / t.events : 0,
        efficiency: thresholds.map((th) => {
          const from = Math.round(th * BINS);
          let n = 0;
          for (let b = from; b < BINS; b++) n += t.histogram[b]!;
          return t.events ? n / t.events : 0;
        }),
      })),
  };
}

export function efficiencyCsv(t: EfficiencyTable): string {
  const head = [
    'true_class',
    'events',
    ...t.thresholds.map((th) => `eff_at_${th}`),
    `eff_at_selection_${t.selection.threshold}`,
  ];
  const lines = t.classes.map((c) =>
    [c.truth, c.events, ...c.efficiency.map((e) => e.toFixed(6)), c.atSelection.toFixed(6)].join(','),
  );
  return `${head.join(',')}\n${lines.join('\n')}\n`;
}
