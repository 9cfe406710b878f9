/**
 * The input files of a run, listed source by source (a file, or a prefix listed
 * recursively) with their sample and relative path; an empty source is an error.
 */
import { baseName, type Storage } from '../storage/index.js';
import type { FileRef, InputSource } from '../contract/fan-out.js';
import { InvalidInputError } from '../errors.js';

/**
 * The input files of a run, source by source: a URI ending in `suffix` is one file,
 * anything else a prefix (a directory) listed recursively. A source with no matching
 * file is an error, not an empty input: a misspelt or missing directory would
 * otherwise give a run that "succeeds" on nothing. Each file carries its sample and a
 * path relative to its source, which order the dataset independently of the URIs the
 * run writes to.
 */
export async function* listSources(
  store: Storage,
  sources: readonly InputSource[],
  suffix: string,
): AsyncGenerator<FileRef> {
  const perSample = new Map<number, number>();
  for (const source of sources) {
    const sample = source.sample ?? 0;
    const k = perSample.get(sample) ?? 0;
    perSample.set(sample, k + 1);
    const what = source.name !== undefined ? `sample '${source.name}': ` : '';
    if (source.uri.endsWith(suffix)) {
      const info = await store.head(source.uri);
      if (!info) throw new InvalidInputError(`${what}no such file ${source.uri}`);
      yield { uri: info.uri, size: info.size, etag: info.etag, sample, rel: `${k}/${baseName(info.uri)}` };
      continue;
    }
    const prefix = source.uri.endsWith('/') ? source.uri : `${source.uri}/`;
    let n = 0;
    for await (const o of store.list(prefix)) {
      if (!o.uri.endsWith(suffix)) continue;
      n++;
      yield { uri: o.uri, size: o.size, etag: o.etag, sample, rel: `${k}/${o.uri.slice(prefix.length)}` };
    }
    if (n === 0) throw new InvalidInputError(`${what}no ${suffix} files under ${prefix} (missing or empty prefix)`);
  }
}
