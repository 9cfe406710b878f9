/**
 * Storage URIs parsed and written in one canonical form (s3://, file://, http(s)://,
 * root://); the URI arithmetic workflow code also uses is uri-path.ts.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { STORAGE_SCHEMES, type StorageScheme } from './schemes.js';
import { InvalidUriError } from './uri-path.js';

export { asPrefix, baseName, InvalidUriError, joinUri, trimTrailingSlashes } from './uri-path.js';

/**
 * A parsed storage location: an S3 object (or prefix), a local file (or directory), or
 * a file (or directory index) on an HTTP(S) server, read-only, or a file (or directory)
 * on an XRootD server, read-only.
 */
export type StorageLocation =
  | { readonly scheme: 's3'; readonly bucket: string; readonly key: string }
  | { readonly scheme: 'file'; readonly path: string }
  | { readonly scheme: 'http' | 'https'; readonly url: URL }
  | { readonly scheme: 'root'; readonly host: string; readonly port: number; readonly path: string };

type SchemeParser = (uri: string, rest: string) => StorageLocation;

const httpUrl: SchemeParser = (uri) => {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidUriError(uri, 'not a valid http(s) URL');
  }
  // URIs travel in workflow histories and name derived outputs: no secrets in them.
  if (url.username || url.password) {
    throw new InvalidUriError(
      uri,
      'credentials in the URL would be stored in workflow histories; set HEPFLOW_HTTP_BEARER_TOKEN instead',
    );
  }
  if (url.hash) throw new InvalidUriError(uri, 'a #fragment does not name a file');
  return { scheme: url.protocol === 'https:' ? 'https' : 'http', url };
};

/** The port XRootD servers listen on unless told otherwise (left out of canonical URIs). */
export const XROOTD_DEFAULT_PORT = 1094;

/**
 * `root://host[:port]//abs/path`: XRootD's own form, two slashes before the absolute path
 * (one is accepted too: the path is absolute either way).
 */
const rootUrl: SchemeParser = (uri, rest) => {
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  if (authority.includes('@'))
    throw new InvalidUriError(uri, 'credentials in the URL would be stored in workflow histories');
  if (/[?#]/.test(rest))
    throw new InvalidUriError(
      uri,
      'a ?query or #fragment does not name a file (and a token in it would be stored in workflow histories)',
    );
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(authority);
  if (!m) throw new InvalidUriError(uri, 'expected root://host[:port]//<absolute path>');
  const port = m[2] === undefined ? XROOTD_DEFAULT_PORT : Number(m[2]);
  if (port < 1 || port > 65535) throw new InvalidUriError(uri, `port ${m[2]} is not a TCP port (1-65535)`);
  const p = slash < 0 ? '/' : rest.slice(slash).replace(/^\/+/, '/');
  if (p.split('/').some((s) => s === '..' || s === '.'))
    throw new InvalidUriError(uri, "'.' and '..' are not allowed in the path");
  return { scheme: 'root', host: m[1]!.toLowerCase(), port, path: p.replace(/\/{2,}/g, '/') };
};

/**
 * The parser of each scheme in STORAGE_SCHEMES, each parsing what follows `scheme://`.
 * A new backend adds its scheme there, its parser here and its variant to
 * StorageLocation.
 */
const SCHEMES: Readonly<Record<StorageScheme, SchemeParser>> = {
  s3: (uri, rest) => {
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (bucket === '') throw new InvalidUriError(uri, 'no bucket: expected s3://<bucket>/<key>');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new InvalidUriError(uri, 'bucket names are 3-63 lowercase letters, digits, dots or hyphens');
    }
    return { scheme: 's3', bucket, key };
  },
  file: (uri, rest) => {
    // file:///abs/path (empty host) or file://localhost/abs/path; never a relative path.
    if (!rest.startsWith('/') && !rest.startsWith('localhost/')) {
      throw new InvalidUriError(uri, 'expected file:///<absolute path>');
    }
    try {
      return { scheme: 'file', path: fileURLToPath(uri) };
    } catch (e) {
      throw new InvalidUriError(uri, (e as Error).message);
    }
  },
  http: httpUrl,
  https: httpUrl,
  root: rootUrl,
};

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Parses `s3://bucket/key`, `file:///abs/path`, `http(s)://host/path` and
 * `root://host//abs/path` (read-only), or an
 * absolute local path. Everything else is refused with the reason: relative paths (they
 * would resolve against each worker's own directory, scattering outputs over machines;
 * the CLI resolves them at the edge, see cli/args.ts), unknown schemes, and scheme-like
 * strings without `//`.
 */
export function parseUri(uri: string): StorageLocation {
  if (typeof uri !== 'string') throw new InvalidUriError(String(uri), `expected a string, got ${typeof uri}`);
  if (uri === '') throw new InvalidUriError(uri, 'empty');
  const scheme = SCHEME.exec(uri)?.[1];
  if (scheme !== undefined) {
    const known = STORAGE_SCHEMES.map((s) => `${s}://`).join(', ');
    const lower = scheme.toLowerCase();
    const parse = (STORAGE_SCHEMES as readonly string[]).includes(lower) ? SCHEMES[lower as StorageScheme] : undefined;
    if (!uri.startsWith(`${scheme}://`)) {
      throw new InvalidUriError(
        uri,
        parse
          ? `expected ${scheme.toLowerCase()}:// (two slashes)`
          : `not a URI this storage knows (${known}, or an absolute path)`,
      );
    }
    if (!parse)
      throw new InvalidUriError(uri, `unknown scheme '${scheme}': supported are ${known}, or an absolute path`);
    return parse(uri, uri.slice(scheme.length + 3));
  }
  if (!path.isAbsolute(uri)) {
    throw new InvalidUriError(
      uri,
      'a relative path; give s3://<bucket>/<key>, file:///<absolute path> or an absolute path',
    );
  }
  return { scheme: 'file', path: path.normalize(uri) };
}

export function formatUri(loc: StorageLocation): string {
  if (loc.scheme === 's3') return `s3://${loc.bucket}/${loc.key}`;
  if (loc.scheme === 'root')
    return `root://${loc.host}${loc.port === XROOTD_DEFAULT_PORT ? '' : `:${loc.port}`}/${loc.path}`;
  if (loc.scheme !== 'file') return loc.url.href;
  const url = pathToFileURL(loc.path).href;
  return loc.path.endsWith(path.sep) && !url.endsWith('/') ? `${url}/` : url;
}

/** Normalizes a URI or absolute path to its canonical URI. */
export const normalizeUri = (uri: string): string => formatUri(parseUri(uri));
