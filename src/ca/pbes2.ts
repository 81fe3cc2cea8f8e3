// Telling a wrong passphrase from a damaged encrypted key (RFC 8018 PBES2). PBES2 has no integrity
// check: a wrong key passes the CBC padding check about once in 256 tries, and a damaged middle block
// decrypts with valid padding. So the verdict is taken from the first cipher block instead: with the
// right passphrase it decrypts to the start of a PKCS#8 PrivateKeyInfo (RFC 5208 §5: SEQUENCE,
// INTEGER version 0 or 1, SEQUENCE), which a wrong key hits about once in 2^40 tries.
import { createDecipheriv, pbkdf2Sync } from 'node:crypto';

const PBES2 = '2a864886f70d01050d';
const PBKDF2 = '2a864886f70d01050c';
const PRF: Record<string, string> = { '2a864886f70d0207': 'sha1', '2a864886f70d0208': 'sha224', '2a864886f70d0209': 'sha256', '2a864886f70d020a': 'sha384', '2a864886f70d020b': 'sha512' };
const CIPHER: Record<string, { name: string; keyLength: number }> = {
  '608648016503040102': { name: 'aes-128-cbc', keyLength: 16 },
  '608648016503040116': { name: 'aes-192-cbc', keyLength: 24 },
  '60864801650304012a': { name: 'aes-256-cbc', keyLength: 32 },
};

interface Tlv { tag: number; start: number; end: number }

/** One DER TLV at `p` (definite lengths only); throws on anything malformed. */
function tlv(b: Buffer, p: number, limit: number): Tlv {
  if (p + 2 > limit) throw new Error('truncated');
  const tag = b[p]!;
  let len = b[p + 1]!;
  let start = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > limit) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new Error('truncated');
  return { tag, start, end: start + len };
}

function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; p = out.at(-1)!.end) out.push(tlv(b, p, t.end));
  return out;
}

const hex = (b: Buffer, t: Tlv) => b.subarray(t.start, t.end).toString('hex');

/**
 * true: the passphrase opens the first block (so the damage is elsewhere); false: it does not (a wrong
 * passphrase); undefined: the envelope is not a PBES2/PBKDF2/AES-CBC one this can read.
 */
export function passphraseOpensFirstBlock(pem: string, passphrase: string): boolean | undefined {
  try {
    const body = pem.replace(/-----(BEGIN|END) ENCRYPTED PRIVATE KEY-----/g, '').replace(/\s+/g, '');
    const der = Buffer.from(body, 'base64');
    const [alg, data] = children(der, tlv(der, 0, der.length));
    const [algOid, params] = children(der, alg!);
    if (hex(der, algOid!) !== PBES2) return undefined;
    const [kdf, enc] = children(der, params!);
    const [kdfOid, kdfParams] = children(der, kdf!);
    if (hex(der, kdfOid!) !== PBKDF2) return undefined;
    const [salt, iter, ...rest] = children(der, kdfParams!);
    const prfSeq = rest.find((t) => t.tag === 0x30);
    const digest = prfSeq ? PRF[hex(der, children(der, prfSeq)[0]!)] : 'sha1';
    const [encOid, iv] = children(der, enc!);
    const cipher = CIPHER[hex(der, encOid!)];
    const iterations = parseInt(hex(der, iter!), 16);
    if (!digest || !cipher || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) return undefined;
    const key = pbkdf2Sync(passphrase, der.subarray(salt!.start, salt!.end), iterations, cipher.keyLength, digest);
    const decipher = createDecipheriv(cipher.name, key, der.subarray(iv!.start, iv!.end)).setAutoPadding(false);
    const block = decipher.update(der.subarray(data!.start, data!.start + 16));
    return looksLikePrivateKeyInfo(block);
  } catch {
    return undefined;
  }
}

/**
 * SEQUENCE, INTEGER 0 or 1, SEQUENCE: the first bytes of every PKCS#8 key, for each length form.
 * One differing byte is allowed, so that a damaged IV (which flips bytes of this block only) still
 * reads as damage; a wrong key matches five or more of these bytes about once in 2^40 tries.
 */
function looksLikePrivateKeyInfo(b: Buffer): boolean {
  if (b.length < 16) return false;
  for (let n = 2; n <= 5; n++) {
    let differ = b[0] === 0x30 ? 0 : 1;
    if (n > 2 && b[1] !== (0x80 | (n - 2))) differ++;
    if (b[n] !== 0x02) differ++;
    if (b[n + 1] !== 0x01) differ++;
    if (b[n + 2] !== 0x00 && b[n + 2] !== 0x01) differ++;
    if (b[n + 3] !== 0x30) differ++;
    if (differ <= 1 && (n > 2 || differ === 0)) return true;
  }
  return false;
}
