/**
 * XRootD's `sss` (simple shared secret) security protocol, client side: the client and
 * the server hold the same keytab (made by `xrdsssadmin`; EOS uses it between its
 * gateways and storage nodes, sites for service accounts). The client sends one packet:
 * a clear header naming the key, then its identity, a timestamp and random bytes,
 * Blowfish-encrypted with the key. The server accepts it when it decrypts under its copy
 * of the key, the timestamp is fresh and the client's address inside matches the socket's.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { blowfishCfb64Encrypt } from './blowfish.js';
import type { XrdCredentials } from './connection.js';

export interface SssKey {
  readonly id: bigint;
  readonly name: string;
  readonly key: Buffer;
}

/** The sss clock's zero (XRootD's: timestamps are seconds since it, in 32 bits). */
const SSS_EPOCH_S = 1222183880;
/** The one cipher sss defines: Blowfish with a CRC-32 appended, encryption type '0'. */
const BLOWFISH = '0';
/** Item tag of the packed client address (`[ip]:port`) the server checks against the socket. */
const ITEM_HOST = 0x20;

/**
 * The first key of a keytab that has not expired. A line: `0 u:<user> g:<group> n:<name>
 * N:<id> c:<created> e:<expires, 0 never> f:<flags> k:<hex key>`.
 */
export function parseSssKeytab(text: string, source: string, nowS = Date.now() / 1000): SssKey {
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = new Map(
      line
        .trim()
        .split(/\s+/)
        .slice(1)
        .map((f) => [f.slice(0, f.indexOf(':')), f.slice(f.indexOf(':') + 1)] as const),
    );
    const id = fields.get('N');
    const key = fields.get('k');
    const expires = Number(fields.get('e') ?? '0');
    if (!id || !/^\d+$/.test(id) || !key || !/^([0-9a-fA-F]{2}){4,56}$/.test(key) || !Number.isFinite(expires))
      throw new Error(`${source} line ${i + 1} is not an sss keytab entry (N:<id> and k:<hex key> expected)`);
    if (expires !== 0 && expires <= nowS) continue;
    return { id: BigInt(id), name: fields.get('n') ?? '', key: Buffer.from(key, 'hex') };
  }
  throw new Error(`${source} holds no sss key that has not expired`);
}

/** CRC-32 (the zlib polynomial), which sss appends before encrypting. */
function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The client's end of the socket as the server formats it: `[::ffff:a.b.c.d]:port` or `[v6]:port`. */
function socketName(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `[::ffff:${address}]:${port}`;
}

/**
 * The kXR_auth payload for `key`, answering the server's `&P=sss,<parameters>` offer:
 * `<cipher>.[+]<lifetime>:...`, where `+` marks a version-2 server, which expects the key
 * name after the header.
 */
export function sssCredentials(
  key: SssKey,
  parameters: string,
  local: { address: string; port: number },
  nowS = Date.now() / 1000,
): Buffer {
  if (!parameters.startsWith(`${BLOWFISH}.`))
    throw new Error(`the server's sss wants cipher '${parameters.split('.')[0]}'; hepflow has Blowfish ('0') only`);
  const v2 = parameters.startsWith(`${BLOWFISH}.+`);
  // The key name, NUL-terminated, padded to a multiple of 8 bytes.
  const name = v2 ? Buffer.alloc((Buffer.byteLength(key.name) + 8) & ~7) : Buffer.alloc(0);
  name.write(key.name, 'utf8');
  const header = Buffer.alloc(16);
  header.write('sss', 0, 'latin1');
  header.writeUInt8(name.length, 6);
  header.write(BLOWFISH, 7, 'latin1');
  header.writeBigUInt64BE(key.id, 8);
  const host = Buffer.from(`${socketName(local.address, local.port)}\0`, 'latin1');
  // 32 random bytes, the timestamp, 3 reserved, options 0 (use this identity), then items.
  const data = Buffer.alloc(40 + 3 + host.length + 4);
  randomBytes(32).copy(data, 0);
  data.writeInt32BE(Math.floor(nowS) - SSS_EPOCH_S, 32);
  let at = 40;
  data.writeUInt8(ITEM_HOST, at++);
  at = data.writeUInt16BE(host.length, at);
  at += host.copy(data, at);
  data.writeUInt32BE(crc32(data.subarray(0, at)), at);
  return Buffer.concat([header, name, blowfishCfb64Encrypt(key.key, data)]);
}

/** sss credentials from a keytab file, read (and checked) once. */
export function sssFromKeytab(file: string, text = readFileSync(file, 'utf8')): XrdCredentials {
  const key = parseSssKeytab(text, file);
  return {
    protocol: 'sss',
    description: `sss (keytab ${file}, key '${key.name}')`,
    credentials: (parameters, local) => sssCredentials(key, parameters, local),
  };
}
