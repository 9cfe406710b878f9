import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

/** A parsed storage location: an S3 object (or prefix) or a local file (or directory). */
export type StorageLocation =
  | { readonly scheme: 's3'; readonly bucket: string; readonly key: string }
  | { readonly scheme: 'file'; readonly path: string };

export class InvalidUriError extends Error {
  constructor(readonly uri: string, reason: string) {
    super(`invalid storage URI '${uri}': ${reason}`);
    this.name = 'InvalidUriError';
  }
}

/**
 * Parses `s3://bucket/key`, `file:///abs/path`, or a bare local path (absolute or
 * relative to the working directory), so CLI users can pass either.
 */
export function parseUri(uri: string): StorageLocation {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new InvalidUriError(uri, 'bucket names are 3-63 lowercase letters, digits, dots or hyphens');
    }
    return { scheme: 's3', bucket, key };
  }
  if (uri.startsWith('file://')) return { scheme: 'file', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new InvalidUriError(uri, 'only s3:// and file:// are supported');
  }
  if (uri === '') throw new InvalidUriError(uri, 'empty');
  return { scheme: 'file', path: path.resolve(uri) };
}

export function formatUri(loc: StorageLocation): string {
  if (loc.scheme === 's3') return `s3://${loc.bucket}/${loc.key}`;
  const url = pathToFileURL(loc.path).href;
  return loc.path.endsWith(path.sep) && !url.endsWith('/') ? `${url}/` : url;
}

/** Normalizes user input (bare paths) to a canonical URI. */
export const normalizeUri = (uri: string): string => formatUri(parseUri(uri));

/** Joins a relative key onto a prefix URI, with exactly one slash between them. */
export function joinUri(prefix: string, ...parts: string[]): string {
  let out = prefix.replace(/\/+$/, '');
  for (const p of parts) out += '/' + p.replace(/^\/+/, '');
  return out;
}

/** The last path component, for display and for naming derived outputs. */
export function baseName(uri: string): string {
  const trimmed = uri.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
