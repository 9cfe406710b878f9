/**
 * The XRootD wire protocol (version 5), the parts a reader needs: every request is a
 * 24-byte header (stream id, request code, 16 bytes of parameters, payload length) and a
 * payload; every response an 8-byte header (stream id, status, body length) and a body.
 * All integers are big-endian. Pure encoding and decoding, no I/O.
 */

export const PROTOCOL_VERSION = 0x00000500;
export const DEFAULT_PORT = 1094;

export const Request = {
  auth: 3000,
  close: 3003,
  dirlist: 3004,
  protocol: 3006,
  login: 3007,
  open: 3010,
  ping: 3011,
  read: 3013,
  stat: 3017,
  readv: 3025,
  locate: 3027,
} as const;

export const Status = {
  ok: 0,
  oksofar: 4000,
  attn: 4001,
  authmore: 4002,
  error: 4003,
  redirect: 4004,
  wait: 4005,
  waitresp: 4006,
} as const;

/** kXR_attn action that carries the answer to a request first told kXR_waitresp. */
export const ATTN_ASYNRESP = 5008;

/** Server error numbers (kXR_error bodies) that say something about the file itself. */
export const ErrorCode = {
  ArgInvalid: 3000,
  ArgMissing: 3001,
  ArgTooLong: 3002,
  FileNotOpen: 3004,
  FSError: 3005,
  InvalidRequest: 3006,
  IOError: 3007,
  NoMemory: 3008,
  NotAuthorized: 3010,
  NotFound: 3011,
  ServerError: 3012,
  Unsupported: 3013,
  noserver: 3014,
  NotFile: 3015,
  isDirectory: 3016,
  Overloaded: 3024,
  TLSRequired: 3028,
  noReplicas: 3029,
  AuthFailed: 3030,
  ReqTimedOut: 3034,
} as const;

/** Errors of the server's state, not of the request: the same request may succeed later. */
export const TRANSIENT_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.IOError,
  ErrorCode.NoMemory,
  ErrorCode.ServerError,
  ErrorCode.noserver,
  ErrorCode.Overloaded,
  ErrorCode.ReqTimedOut,
  ErrorCode.FileNotOpen,
]);

export const OpenOption = { read: 0x0010, retstat: 0x0400 } as const;
export const DirlistOption = { dstat: 0x02 } as const;
/** kXR_locate options: ask the data servers again instead of the manager's cache; names, not addresses. */
export const LocateOption = { refresh: 0x0080, prefname: 0x0100 } as const;
export const StatFlag = { isDir: 0x02, other: 0x04, offline: 0x08, readable: 0x10 } as const;

/**
 * A server's readv limits (XProtocol's maxRvecsz and maxRVdsz): at most 1024 segments
 * in one request and 2 MiB - 16 bytes in one segment.
 */
export const READV_MAX_SEGMENTS = 1024;
export const READV_MAX_SEGMENT_BYTES = 2097136;
export const READV_SEGMENT_HEADER = 16;

export const HEADER_BYTES = 24;
export const RESPONSE_HEADER_BYTES = 8;

/** The 20 bytes a client opens every connection with (four zeros, then 4 and 2012). */
export function handshake(): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32BE(4, 12);
  b.writeInt32BE(2012, 16);
  return b;
}

/** A request: `params` fills the 16 parameter bytes (the caller writes them), `payload` follows. */
export function encodeRequest(
  streamId: number,
  code: number,
  params: (p: Buffer) => void = () => {},
  payload: Uint8Array = new Uint8Array(0),
): Buffer {
  const b = Buffer.alloc(HEADER_BYTES + payload.length);
  b.writeUInt16BE(streamId, 0);
  b.writeUInt16BE(code, 2);
  params(b.subarray(4, 20));
  b.writeInt32BE(payload.length, 20);
  b.set(payload, HEADER_BYTES);
  return b;
}

export const protocolRequest = (streamId: number): Buffer =>
  encodeRequest(streamId, Request.protocol, (p) => p.writeInt32BE(PROTOCOL_VERSION, 0));

export function loginRequest(streamId: number, user: string, cgi: string): Buffer {
  return encodeRequest(
    streamId,
    Request.login,
    (p) => {
      p.writeInt32BE(process.pid, 0);
      p.write(user.slice(0, 8), 4, 8, 'latin1');
      // capver: protocol version 5 capabilities, no asynchronous pushes wanted.
      p.writeUInt8(5, 14);
    },
    Buffer.from(cgi, 'utf8'),
  );
}

const pathPayload = (path: string): Buffer => Buffer.from(path, 'utf8');

export const statRequest = (streamId: number, path: string): Buffer =>
  encodeRequest(streamId, Request.stat, () => {}, pathPayload(path));

export const dirlistRequest = (streamId: number, path: string): Buffer =>
  encodeRequest(streamId, Request.dirlist, (p) => p.writeUInt8(DirlistOption.dstat, 15), pathPayload(path));

export const openRequest = (streamId: number, path: string): Buffer =>
  encodeRequest(
    streamId,
    Request.open,
    (p) => {
      p.writeUInt16BE(0, 0);
      p.writeUInt16BE(OpenOption.read | OpenOption.retstat, 2);
    },
    pathPayload(path),
  );

/**
 * kXR_locate: the servers holding `path`. A path starting with '*' asks instead for every
 * server exporting it, as a listing needs (a manager merges no directories itself).
 */
export const locateRequest = (streamId: number, path: string, options: number): Buffer =>
  encodeRequest(streamId, Request.locate, (p) => p.writeUInt16BE(options, 0), pathPayload(path));

export const readRequest = (streamId: number, handle: Uint8Array, offset: number, length: number): Buffer =>
  encodeRequest(streamId, Request.read, (p) => {
    p.set(handle, 0);
    p.writeBigInt64BE(BigInt(offset), 4);
    p.writeInt32BE(length, 12);
  });

export interface Segment {
  readonly offset: number;
  readonly length: number;
}

export function readvRequest(streamId: number, handle: Uint8Array, segments: readonly Segment[]): Buffer {
  const list = Buffer.alloc(segments.length * READV_SEGMENT_HEADER);
  segments.forEach((s, i) => {
    list.set(handle, i * 16);
    list.writeInt32BE(s.length, i * 16 + 4);
    list.writeBigInt64BE(BigInt(s.offset), i * 16 + 8);
  });
  return encodeRequest(streamId, Request.readv, () => {}, list);
}

export const closeRequest = (streamId: number, handle: Uint8Array): Buffer =>
  encodeRequest(streamId, Request.close, (p) => p.set(handle, 0));

export const authRequest = (streamId: number, protocol: string, credentials: Uint8Array): Buffer =>
  encodeRequest(streamId, Request.auth, (p) => p.write(protocol.slice(0, 4), 12, 4, 'latin1'), credentials);

/** A stat answer: "id size flags mtime" (more fields may follow; they are ignored). */
export interface StatInfo {
  readonly id: string;
  readonly size: number;
  readonly flags: number;
  readonly mtime: number;
}

export function parseStat(text: string): StatInfo {
  const f = text.replace(/\0+$/, '').trim().split(/\s+/);
  const [id, size, flags, mtime] = f;
  if (f.length < 4 || !/^\d+$/.test(size!) || !/^\d+$/.test(flags!) || !/^\d+$/.test(mtime!))
    throw new Error(`malformed stat answer '${text}'`);
  return { id: id!, size: Number(size), flags: Number(flags), mtime: Number(mtime) };
}

/**
 * A dirlist answer asked with kXR_dstat: a first ".\n0 0 0 0" pair (the marker that the
 * server honoured dstat), then a name line and a stat line per entry.
 */
export function parseDirlist(text: string): { name: string; stat: StatInfo }[] {
  const lines = text
    .replace(/\0+$/, '')
    .split('\n')
    .filter((l) => l !== '');
  if (lines[0] === '.' && lines.length % 2 === 0) lines.splice(0, 2);
  if (lines.length % 2 !== 0) throw new Error('malformed dirlist answer: a name without its stat line');
  const out: { name: string; stat: StatInfo }[] = [];
  for (let i = 0; i < lines.length; i += 2) out.push({ name: lines[i]!, stat: parseStat(lines[i + 1]!) });
  return out;
}

/** One kXR_locate answer entry: a manager (to be asked in turn) or a data server. */
export interface Location {
  readonly host: string;
  readonly port: number;
  readonly manager: boolean;
}

/**
 * A kXR_locate answer: space-separated `xy<address>`, x one of M/m (manager online or
 * pending) or S/s (server), y r or w (access), the address `[::a.b.c.d]:port` (IPv4
 * mapped), `[ipv6]:port` or `host:port`.
 */
export function parseLocate(text: string): Location[] {
  return text
    .replace(/\0+$/, '')
    .trim()
    .split(/\s+/)
    .filter((e) => e !== '')
    .map((entry) => {
      const m = /^([MmSs])[rw](?:\[::(\d+\.\d+\.\d+\.\d+)\]|(\[[0-9a-fA-F:]+\])|([^:[\]]+)):(\d+)$/.exec(entry);
      if (!m) throw new Error(`malformed locate answer entry '${entry}'`);
      return { host: m[2] ?? m[3] ?? m[4]!, port: Number(m[5]), manager: m[1] === 'M' || m[1] === 'm' };
    });
}

/** Where a kXR_redirect sends the client: a port, then `host[?cgi]`. */
export function parseRedirect(body: Buffer): { host: string; port: number; cgi: string } {
  const port = body.readInt32BE(0);
  const target = body.subarray(4).toString('utf8').replace(/\0+$/, '');
  const q = target.indexOf('?');
  const host = q < 0 ? target : target.slice(0, q);
  return { host, port: port > 0 ? port : DEFAULT_PORT, cgi: q < 0 ? '' : target.slice(q + 1) };
}

/** A kXR_error body: the error number, then a message. */
export function parseError(body: Buffer): { code: number; message: string } {
  return {
    code: body.length >= 4 ? body.readInt32BE(0) : 0,
    message: body.subarray(4).toString('utf8').replace(/\0+$/, '').trim(),
  };
}

export const ERROR_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ErrorCode).map(([name, code]) => [code, `kXR_${name}`]),
);
