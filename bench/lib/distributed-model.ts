/**
 * The scaling model behind the distributed benchmark's extrapolation. A round of N
 * workers takes
 *
 *   T(N) = c + x + (o + a·N)
 *
 * c: one shard's local steps (constant per worker: the per-worker batch and K are fixed),
 * x: one shard's parameter download + upload (constant per worker: model-sized),
 * o + a·N: the rest — aggregation (reads N results) and orchestration (N activities
 * scheduled, N results recorded) — fitted by least squares over the measured N.
 * Throughput S(N) = N·K·B / T(N); efficiency S(N) / (N·S(1)).
 */
export interface MeasuredRound {
  readonly workers: number;
  readonly compute: number;
  readonly exchange: number;
  readonly overhead: number;
}

export interface ScalingModel {
  readonly c: number;
  readonly x: number;
  readonly o: number;
  readonly a: number;
}

export function fitScalingModel(rows: readonly MeasuredRound[]): ScalingModel {
  const n = rows.length;
  const mean = (f: (r: MeasuredRound) => number) => rows.reduce((s, r) => s + f(r), 0) / n;
  const mx = mean((r) => r.workers);
  const my = mean((r) => r.overhead);
  const sxx = rows.reduce((s, r) => s + (r.workers - mx) ** 2, 0);
  const a = sxx > 0 ? Math.max(0, rows.reduce((s, r) => s + (r.workers - mx) * (r.overhead - my), 0) / sxx) : 0;
  return { c: mean((r) => r.compute), x: mean((r) => r.exchange), o: Math.max(0, my - a * mx), a };
}

export function predict(
  m: ScalingModel,
  workers: number,
): { roundSeconds: number; efficiency: number; communicationShare: number } {
  const round = m.c + m.x + m.o + m.a * workers;
  const single = m.c + m.x + m.o + m.a;
  return { roundSeconds: round, efficiency: single / round, communicationShare: 1 - m.c / round };
}
