/** Per-sample tallies of a fan-out's file results: pure, shared by workflows and the CLI's local runs. */
import type { FileResult, SampleTally, Totals } from './fan-out.js';

export const ZERO_TALLY: SampleTally = { ok: 0, failed: 0, counters: {}, causes: {} };
const MAX_CAUSES = 10;
const FILES_PER_CAUSE = 3;

export function addTally(a: SampleTally, b: SampleTally): SampleTally {
  const counters: Record<string, number> = { ...a.counters };
  for (const [k, v] of Object.entries(b.counters)) counters[k] = (counters[k] ?? 0) + v;
  const causes: Record<string, { count: number; files: readonly string[] }> = { ...a.causes };
  for (const [cause, c] of Object.entries(b.causes)) {
    // Bounded: a message that varies per file must not grow the history without limit.
    const key = cause in causes || Object.keys(causes).length < MAX_CAUSES ? cause : 'other causes';
    const prev = causes[key] ?? { count: 0, files: [] };
    causes[key] = { count: prev.count + c.count, files: [...prev.files, ...c.files].slice(0, FILES_PER_CAUSE) };
  }
  return { ok: a.ok + b.ok, failed: a.failed + b.failed, counters, causes };
}

export function addTallies(a: readonly SampleTally[], b: readonly SampleTally[]): SampleTally[] {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) =>
    addTally(a[i] ?? ZERO_TALLY, b[i] ?? ZERO_TALLY),
  );
}

/** The tally of one file; its own URI is taken out of the message so that files failing alike share a cause. */
export function tallyOf(r: FileResult<unknown>): SampleTally {
  if (r.status === 'ok') return { ok: 1, failed: 0, counters: r.outcome.counters, causes: {} };
  const cause = r.error.split(r.file.uri).join('<file>').slice(0, 300);
  return { ok: 0, failed: 1, counters: {}, causes: { [cause]: { count: 1, files: [r.file.uri] } } };
}

export const ZERO_TOTALS: Totals = { ok: 0, failed: 0, bytes: 0, counters: {} };

export function addTotals(a: Totals, b: Totals): Totals {
  const counters: Record<string, number> = { ...a.counters };
  for (const [k, v] of Object.entries(b.counters)) counters[k] = (counters[k] ?? 0) + v;
  return { ok: a.ok + b.ok, failed: a.failed + b.failed, bytes: a.bytes + b.bytes, counters };
}

export const totalsOf = (r: FileResult<unknown>): Totals =>
  r.status === 'ok'
    ? { ok: 1, failed: 0, bytes: r.file.size, counters: r.outcome.counters }
    : { ok: 0, failed: 1, bytes: r.file.size, counters: {} };

/** Adds one file's result to a sample's place in per-sample tallies. */
export const addToSample = (tallies: readonly SampleTally[], r: FileResult<unknown>): SampleTally[] => {
  const sample = r.file.sample ?? 0;
  return addTallies(
    tallies,
    Array.from({ length: sample + 1 }, (_, i) => (i === sample ? tallyOf(r) : ZERO_TALLY)),
  );
};
