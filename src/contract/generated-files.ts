/**
 * How a generated sample is cut into files and where they go. Pure (no Node APIs):
 * generateWorkflow and `hepflow generate` name the same files.
 */
import { asPrefix, joinUri } from '../storage/uri-path.js';

/**
 * The event range of part `k` (0-based) when `total` events are split into `parts`
 * files: contiguous, sizes differing by at most one, covering [0, total) exactly.
 */
export function partRange(total: number, parts: number, k: number): { firstEvent: number; events: number } {
  if (!Number.isSafeInteger(total) || total < 0)
    throw new RangeError(`total must be a non-negative integer, got ${total}`);
  if (!Number.isSafeInteger(parts) || parts < 1) throw new RangeError(`parts must be a positive integer, got ${parts}`);
  if (!Number.isSafeInteger(k) || k < 0 || k >= parts)
    throw new RangeError(`part index must be in [0, ${parts}), got ${k}`);
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return { firstEvent: k * base + Math.min(k, extra), events: base + (k < extra ? 1 : 0) };
}

/** File k of a generated sample: stable names that sort in event order. */
export const generatedFileName = (seed: number, k: number, files: number): string =>
  `events-s${seed}-${String(k).padStart(Math.max(5, String(files - 1).length), '0')}.root`;

/** A generated sample under `outputUri`: its prefix and file k's URI. */
export const generatedFiles = (outputUri: string, seed: number, files: number) => ({
  prefix: asPrefix(outputUri),
  file: (k: number) => joinUri(outputUri, generatedFileName(seed, k, files)),
});
