/**
 * Copying every object under one prefix to another (demo and test setup), skipping
 * objects already there.
 */
import type { Storage } from './index.js';
import { asPrefix, joinUri, normalizeUri } from './uri.js';

/**
 * Copies every object under `fromPrefix` to the same relative key under `toPrefix`,
 * streaming each one, and skips objects already there with the same size (so demo
 * and test setup is cheap to repeat).
 */
export async function copyPrefix(
  store: Storage,
  fromPrefix: string,
  toPrefix: string,
  keep: (uri: string) => boolean = () => true,
): Promise<{ copied: string[]; skipped: string[] }> {
  const base = asPrefix(normalizeUri(fromPrefix));
  const copied: string[] = [];
  const skipped: string[] = [];
  for await (const o of store.list(base)) {
    if (!keep(o.uri)) continue;
    const target = joinUri(toPrefix, o.uri.slice(base.length));
    const existing = await store.head(target);
    if (existing?.size === o.size) {
      skipped.push(target);
      continue;
    }
    await store.write(target, await store.readStream(o.uri));
    copied.push(target);
  }
  return { copied, skipped };
}
