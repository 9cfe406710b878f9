import { pipeline } from 'node:stream/promises';
import { baseName, joinUri, storage } from '../../src/storage/index.js';
import { copyPrefix } from '../../src/storage/copy.js';
import { uriArgument } from '../args.js';

export interface LsOptions {
  long?: boolean;
}

/** Every object under a prefix, recursively (S3 prefix semantics: `runs/a` also matches `runs/ab`). */
export async function lsCommand(raw: string, o: LsOptions): Promise<void> {
  const prefix = uriArgument(raw);
  let n = 0;
  for await (const obj of storage().list(raw.endsWith('/') && !prefix.endsWith('/') ? `${prefix}/` : prefix)) {
    n++;
    console.log(o.long ? `${String(obj.size).padStart(12)}  ${obj.lastModified.toISOString()}  ${obj.uri}` : obj.uri);
  }
  if (n === 0) throw new Error(`nothing under ${prefix}`);
}

/** Objects to stdout, one after the other, streamed. */
export async function catCommand(raws: string[]): Promise<void> {
  // A reader that stops early (`| head`) is not a failure.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  for (const raw of raws) await pipeline(await storage().readStream(uriArgument(raw)), process.stdout, { end: false });
}

/**
 * One object (to a destination ending in / it keeps its name), or with a source ending
 * in / every object under it, at the same relative keys; objects already there with the
 * same size are skipped, so an interrupted copy resumes.
 */
export async function cpCommand(rawFrom: string, rawTo: string): Promise<void> {
  const from = uriArgument(rawFrom);
  const to = uriArgument(rawTo);
  if (rawFrom.endsWith('/')) {
    const { copied, skipped } = await copyPrefix(storage(), from, to);
    if (copied.length + skipped.length === 0) throw new Error(`nothing under ${from}`);
    console.log(`${copied.length} copied, ${skipped.length} already there with the same size, under ${to}`);
    return;
  }
  const target = rawTo.endsWith('/') ? joinUri(to, baseName(from)) : to;
  const written = await storage().write(target, await storage().readStream(from));
  console.log(`${from} → ${written.uri} (${written.size} bytes)`);
}
