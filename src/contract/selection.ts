/**
 * A trigger-style selection on one class's probability (`--select ttbar>=0.8`), as score
 * workflows pass it to their activities; parsing and efficiencies are src/scoring/selection.ts.
 */
export interface Selection {
  readonly className: string;
  readonly threshold: number;
}
