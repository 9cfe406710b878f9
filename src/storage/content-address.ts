/**
 * Content addressing: an output's name derives from its input's identity and its
 * configuration, and a commit record written last marks it complete, so reruns and
 * retries reuse finished work and never read a half-written object.
 */
import { createHash } from 'node:crypto';
import type { Storage } from './index.js';

/** JSON with object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A short, stable hash of a configuration object. */
export const configHash = (config: unknown): string => sha256(canonicalJson(config)).slice(0, 16);

/** The identity of an input: where it is and which content it had when listed. */
export interface InputIdentity {
  readonly uri: string;
  readonly etag: string;
  readonly size: number;
}

/**
 * An output's name derives from its input's identity and the configuration that made
 * it: a changed input or configuration gives a new name, an unchanged one the same.
 */
export const derivedKey = (input: InputIdentity, config: unknown): string =>
  sha256(canonicalJson({ input: { uri: input.uri, etag: input.etag, size: input.size }, config })).slice(0, 24);

/**
 * The record that marks an output complete. It is written only after the output
 * itself, and names the output's size and etag, so a crash between the two writes, or
 * an output replaced since, is never mistaken for a complete one.
 */
export interface CommitRecord<M> {
  readonly outputUri: string;
  readonly size: number;
  readonly etag: string;
  readonly meta: M;
}

export async function readCommitted<M>(store: Storage, commitUri: string): Promise<CommitRecord<M> | undefined> {
  if (!(await store.head(commitUri))) return undefined;
  const record = await store.readJson<CommitRecord<M>>(commitUri);
  const out = await store.head(record.outputUri);
  return out && out.size === record.size && out.etag === record.etag ? record : undefined;
}

export async function commit<M>(
  store: Storage,
  commitUri: string,
  outputUri: string,
  meta: M,
): Promise<CommitRecord<M>> {
  const out = await store.head(outputUri);
  if (!out) throw new Error(`cannot commit ${outputUri}: it does not exist`);
  const record: CommitRecord<M> = { outputUri, size: out.size, etag: out.etag, meta };
  await store.writeJson(commitUri, record);
  return record;
}
