/**
 * Blowfish in 64-bit cipher-feedback mode, the cipher of XRootD's `sss` security protocol.
 * Node's OpenSSL 3 keeps Blowfish in its legacy provider, which a process can load only
 * by a start-up flag, so hepflow carries its own. The initial boxes are the fraction of
 * pi in hex (as Blowfish defines them), computed once instead of pasted as 4 KiB of
 * constants.
 */

const P_WORDS = 18;
const S_WORDS = 4 * 256;

let initial: Uint32Array | undefined;

/** The first `count` 32-bit words of pi's fraction, by Machin's formula in fixed point. */
function piFractionWords(count: number): Uint32Array {
  const bits = BigInt(count * 32 + 64);
  const one = 1n << bits;
  const atanInverse = (x: bigint): bigint => {
    let sum = 0n;
    let power = one / x;
    for (let k = 1n; power !== 0n; k += 2n, power /= x * x) sum += k % 4n === 1n ? power / k : -power / k;
    return sum;
  };
  const fraction = (16n * atanInverse(5n) - 4n * atanInverse(239n)) & (one - 1n);
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = Number((fraction >> (bits - 32n * BigInt(i + 1))) & 0xffffffffn);
  return words;
}

/** A Blowfish key schedule: the 18 round keys and the four S-boxes. */
class Blowfish {
  private readonly p: Uint32Array;
  private readonly s: Uint32Array;

  constructor(key: Uint8Array) {
    if (key.length < 4 || key.length > 56) throw new Error(`a Blowfish key has 4 to 56 bytes, not ${key.length}`);
    initial ??= piFractionWords(P_WORDS + S_WORDS);
    this.p = initial.slice(0, P_WORDS);
    this.s = initial.slice(P_WORDS);
    let k = 0;
    for (let i = 0; i < P_WORDS; i++) {
      let word = 0;
      for (let b = 0; b < 4; b++, k = (k + 1) % key.length) word = (word << 8) | key[k]!;
      this.p[i]! ^= word;
    }
    const block = new Uint32Array(2);
    for (const table of [this.p, this.s])
      for (let i = 0; i < table.length; i += 2) {
        this.encrypt(block);
        table[i] = block[0]!;
        table[i + 1] = block[1]!;
      }
  }

  private f(x: number): number {
    const s = this.s;
    return (
      ((((s[x >>> 24]! + s[256 + ((x >>> 16) & 0xff)]!) | 0) ^ s[512 + ((x >>> 8) & 0xff)]!) + s[768 + (x & 0xff)]!) | 0
    );
  }

  /** One 64-bit block (two big-endian words), in place. */
  encrypt(block: Uint32Array): void {
    let l = block[0]!;
    let r = block[1]!;
    for (let i = 0; i < 16; i++) {
      l ^= this.p[i]!;
      r ^= this.f(l);
      [l, r] = [r, l];
    }
    block[0] = r ^ this.p[17]!;
    block[1] = l ^ this.p[16]!;
  }
}

/** `data` encrypted with `key` in CFB64 mode from a zero IV (OpenSSL's BF_cfb64_encrypt). */
export function blowfishCfb64Encrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const bf = new Blowfish(key);
  const iv = Buffer.alloc(8);
  const block = new Uint32Array(2);
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) {
    const n = i % 8;
    if (n === 0) {
      block[0] = iv.readUInt32BE(0);
      block[1] = iv.readUInt32BE(4);
      bf.encrypt(block);
      iv.writeUInt32BE(block[0], 0);
      iv.writeUInt32BE(block[1], 4);
    }
    out[i] = data[i]! ^ iv[n]!;
    // Cipher feedback: the ciphertext becomes the next block's input.
    iv[n] = out[i]!;
  }
  return out;
}
