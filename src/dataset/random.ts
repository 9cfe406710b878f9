/**
 * Dataset assembly's sampling over the seeded streams of src/contract/random.ts: each
 * decision (which rows to keep, train or test, which bucket, the order inside a bucket)
 * draws from its own stream derived from (seed, purpose).
 */
import type { Rng } from '../contract/random.js';

/**
 * Selection sampling (Knuth's Algorithm S): keeps exactly `want` of `total` items seen
 * one at a time, each subset equally likely, in O(1) memory.
 */
export class Sampler {
  private seen = 0;
  private kept = 0;
  constructor(
    private readonly total: number,
    private readonly want: number,
    private readonly rng: Rng,
  ) {
    if (want > total) throw new Error(`cannot sample ${want} of ${total}`);
  }
  take(): boolean {
    const keep = (this.total - this.seen) * this.rng.next() < this.want - this.kept;
    this.seen++;
    if (keep) this.kept++;
    return keep;
  }
}
