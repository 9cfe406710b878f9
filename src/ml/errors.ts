/** Kept apart from train.ts so the parent side of the worker need not load tfjs. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
}
