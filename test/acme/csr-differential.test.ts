// Differential test: the single-pass PKCS#10 reader (src/acme/csr-der.ts) against
// @peculiar/asn1-csr (libraryCsrFields, the reference), on generated good and bad requests. Where
// the reader answers, the library must answer the same fields; checkCsr must reach the same
// verdict (same result, or the same problem type and detail) with the reader as with the library
// alone; and the reader must answer every request generated in canonical DER from the types it
// claims (else it would silently push the hot path back onto the library).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { checkCsr, libraryCsrFields, readCsrFields } from '../../src/acme/csr.js';
import { readCsrDer, type CsrFields } from '../../src/acme/csr-der.js';
import { jwkThumbprint } from '../../src/acme/jwk-thumbprint.js';
import { AcmeProblem } from '../../src/acme/problems.js';
import { prng } from '../helpers/prng.js';

const N = 1000;

// --- a small DER writer with a switch for non-minimal (BER) lengths -------------------------------
let longForm = 0; // probability of a non-minimal length, set per request
let rand: () => number = Math.random;
function len(n: number): number[] {
  if (longForm && rand() < longForm) return n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
}
const t = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag, ...len(body.length)]), body]);
};
function oid(dotted: string): Buffer {
  const a = dotted.split('.').map(Number);
  const out = [40 * a[0]! + a[1]!];
  for (const v of a.slice(2)) {
    const b = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) b.unshift((x & 0x7f) | 0x80);
    out.push(...b);
  }
  return t(0x06, Buffer.from(out));
}
const str = (tag: number, s: string): Buffer => t(tag, tag === 0x1e ? Buffer.from(s, 'utf16le').swap16() : Buffer.from(s, tag === 0x0c ? 'utf8' : 'latin1'));

interface Key { name: string; priv: KeyObject; spki: Buffer; alg: string; hash: string | null; thumbprint: string }
function key(name: string, pair: { privateKey: KeyObject; publicKey: KeyObject }, alg: string, hash: string | null): Key {
  return { name, priv: pair.privateKey, spki: pair.publicKey.export({ format: 'der', type: 'spki' }), alg, hash, thumbprint: jwkThumbprint(pair.publicKey.export({ format: 'jwk' }) as never) };
}
const KEYS: Key[] = [
  key('p256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), '1.2.840.10045.4.3.2', 'sha256'),
  key('p384', generateKeyPairSync('ec', { namedCurve: 'P-384' }), '1.2.840.10045.4.3.3', 'sha384'),
  key('rsa', generateKeyPairSync('rsa', { modulusLength: 2048 }), '1.2.840.113549.1.1.11', 'sha256'),
  key('ed25519', generateKeyPairSync('ed25519'), '1.3.101.112', null),
  key('p521', generateKeyPairSync('ec', { namedCurve: 'P-521' }), '1.2.840.10045.4.3.4', 'sha512'),
  key('account', generateKeyPairSync('ec', { namedCurve: 'P-256' }), '1.2.840.10045.4.3.2', 'sha256'),
  key('other-account', generateKeyPairSync('ec', { namedCurve: 'P-256' }), '1.2.840.10045.4.3.2', 'sha256'),
];
const ORDER = ['a.node.test', 'b.node.test'];
const NAMES = [...ORDER, 'A.Node.Test', 'a.node.test.', 'c.node.test', '', 'é.node.test', 'x_y.node.test'];

interface Gen { der: Buffer; canonical: boolean }

function generate(r: () => number): Gen {
  rand = r;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  let canonical = true;
  longForm = r() < 0.1 ? 0.3 : 0;
  if (longForm) canonical = false;
  const k = r() < 0.8 ? KEYS[Math.floor(r() * 4)]! : pick(KEYS);
  // Subject: RDNs of CN, O, C; CN in the three types the reader knows, or others.
  const rdns: Buffer[] = [];
  for (let i = r() < 0.5 ? 0 : 1 + Math.floor(r() * 2); i > 0; i--) {
    const atvs: Buffer[] = [];
    for (let j = r() < 0.1 ? 2 : 1; j > 0; j--) {
      const type = pick(['2.5.4.3', '2.5.4.3', '2.5.4.10', '2.5.4.6']);
      let tag = pick([0x0c, 0x0c, 0x13, 0x16, 0x1e, 0x14]);
      let value = type === '2.5.4.3' ? (r() < 0.6 ? pick(ORDER) : pick(NAMES)) : pick(['Org', 'DE', 'a=b', 'Ünïcode']);
      if (tag === 0x0c && r() < 0.03) value = '\ufeff' + value;
      if (tag === 0x13 && !/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) canonical = false;
      if (tag === 0x16 && /[\u0080-\uffff]/.test(value)) canonical = false;
      if (tag === 0x14 && /[\u0080-\uffff]/.test(value)) tag = 0x0c;
      if (value.startsWith('\ufeff') && tag === 0x0c) canonical = false;
      if (tag === 0x1e || tag === 0x14) canonical = false;
      atvs.push(t(0x30, oid(type), str(tag, value)));
    }
    rdns.push(t(0x31, ...atvs));
  }
  const subject = t(0x30, ...rdns);
  // Extensions: SAN (DNS names, sometimes other GeneralNames), basicConstraints, keyUsage, others.
  const exts: Buffer[] = [];
  const critical = () => {
    const x = r();
    if (x < 0.05) {
      canonical = false;
      return [Buffer.from([0x01, 0x01, 0x00])];
    }
    return x < 0.3 ? [Buffer.from([0x01, 0x01, 0xff])] : [];
  };
  if (r() < 0.9) {
    const gns: Buffer[] = [];
    // Mostly exactly the order's names (in any case, with a trailing dot), sometimes others.
    const names = r() < 0.7 ? ORDER.map((n) => pick([n, n, n.toUpperCase(), n + '.'])) : [];
    for (let i = names.length ? (r() < 0.2 ? 1 : 0) : 1 + Math.floor(r() * 3); i > 0; i--) names.push(pick(NAMES));
    for (const n of names) gns.push(t(0x82, Buffer.from(n, 'latin1')));
    if (names.some((n) => /[\u0080-\uffff]/.test(n))) canonical = false;
    if (r() < 0.1) {
      canonical = false;
      gns.splice(Math.floor(r() * gns.length), 0, pick([t(0x87, Buffer.from([127, 0, 0, 1])), t(0x81, Buffer.from('a@node.test')), t(0x86, Buffer.from('https://node.test/')), t(0xa0, oid('1.3.6.1.4.1.1'), t(0xa0, str(0x0c, 'x')))]));
    }
    exts.push(t(0x30, oid('2.5.29.17'), ...critical(), t(0x04, t(0x30, ...gns))));
  }
  if (r() < 0.2) {
    const ca = r() < 0.5 ? [Buffer.from([0x01, 0x01, 0xff])] : [];
    const pathLen = r() < 0.3 ? [t(0x02, Buffer.from([1]))] : [];
    exts.splice(Math.floor(r() * (exts.length + 1)), 0, t(0x30, oid('2.5.29.19'), ...critical(), t(0x04, t(0x30, ...ca, ...pathLen))));
  }
  if (r() < 0.3) exts.push(t(0x30, oid('2.5.29.15'), ...critical(), t(0x04, t(0x03, Buffer.from([0x05, 0xa0])))));
  if (r() < 0.1) exts.push(t(0x30, oid('1.3.6.1.5.5.7.1.24'), t(0x04, t(0x30, t(0x02, Buffer.from([5]))))));
  const attrs: Buffer[] = [];
  if (exts.length || r() < 0.5) attrs.push(t(0x30, oid('1.2.840.113549.1.9.14'), t(0x31, t(0x30, ...exts))));
  if (r() < 0.1) attrs.unshift(t(0x30, oid('1.2.840.113549.1.9.7'), t(0x31, str(0x13, 'secret'))));
  const info = t(0x30, t(0x02, Buffer.from([0])), subject, k.spki, t(0xa0, ...attrs));
  // The signature algorithm: the key's, sometimes SHA-1, another hash, another key type, unknown.
  let alg = k.alg;
  let hash = k.hash;
  const x = r();
  if (x < 0.03) alg = '1.2.840.10045.4.1';
  else if (x < 0.06 && hash) [alg, hash] = [k.alg === '1.2.840.113549.1.1.11' ? '1.2.840.113549.1.1.12' : '1.2.840.10045.4.3.3', 'sha384'];
  else if (x < 0.08) alg = '1.2.840.113549.1.1.11';
  const algId = alg.startsWith('1.2.840.113549') ? t(0x30, oid(alg), Buffer.from([0x05, 0x00])) : t(0x30, oid(alg));
  let sig: Buffer;
  try {
    sig = sign(hash, info, k.priv.asymmetricKeyType === 'ec' ? { key: k.priv, dsaEncoding: 'der' } : k.priv);
  } catch {
    sig = Buffer.alloc(64, 1);
  }
  if (r() < 0.05) sig[Math.floor(r() * sig.length)] ^= 0x01;
  longForm = 0;
  return { der: t(0x30, info, algId, t(0x03, Buffer.from([0]), sig)), canonical };
}

/** A damaged copy: flipped, cut, extended, or a byte replaced. */
function mutate(der: Buffer, r: () => number): Buffer {
  const d = Buffer.from(der);
  const i = Math.floor(r() * d.length);
  const x = r();
  if (x < 0.4) {
    d[i] ^= 1 << Math.floor(r() * 8);
    return d;
  }
  if (x < 0.6) return d.subarray(0, i);
  if (x < 0.7) return Buffer.concat([d, Buffer.from([Math.floor(r() * 256)])]);
  d[i] = Math.floor(r() * 256);
  return d;
}

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);
const plainFields = (f: CsrFields) => ({ ...f, info: hex(f.info), spki: hex(f.spki), signature: hex(f.signature) });

async function verdict(der: Buffer, read: (d: Uint8Array) => CsrFields | undefined): Promise<unknown> {
  const account = KEYS.find((k) => k.name === 'account')!;
  const others = new Set([KEYS.find((k) => k.name === 'other-account')!.thumbprint]);
  try {
    const c = await checkCsr(der.toString('base64url'), ORDER, account.spki, async (tp) => others.has(tp), { readFields: read });
    return { ok: { names: c.names, spki: hex(c.spki), spkiSha256: c.spkiSha256, der: hex(c.der) } };
  } catch (err) {
    if (!(err instanceof AcmeProblem)) throw err;
    return { problem: err.toDocument() };
  }
}

test(`CSR reader: ${N} generated requests and ${N} damaged copies, the same fields and verdicts as @peculiar/asn1-csr`, async () => {
  const r = prng(0x5eed);
  let answered = 0;
  let canonical = 0;
  const verdicts = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const g = generate(r);
    for (const [kind, der] of [['generated', g.der], ['damaged', mutate(g.der, r)]] as const) {
      const where = `input ${i} (${kind}) ${der.toString('base64url')}`;
      const fast = readCsrDer(der);
      const lib = libraryCsrFields(der);
      if (fast) {
        answered++;
        assert.ok(lib, `${where}: the reader answered, the library refused`);
        assert.deepEqual(plainFields(fast), plainFields(lib), where);
      }
      if (kind === 'generated' && g.canonical) {
        canonical++;
        assert.ok(fast, `${where}: canonical DER of supported types, but the reader left it to the library`);
      }
      // Where the reader does not answer, checkCsr reads with the library either way.
      const v = await verdict(der, readCsrFields);
      if (fast) assert.deepEqual(v, await verdict(der, libraryCsrFields), where);
      const label = 'ok' in (v as object) ? 'ok' : (v as { problem: { detail: string } }).problem.detail.replace(/[:;(].*$/, '');
      verdicts.set(label, (verdicts.get(label) ?? 0) + 1);
    }
  }
  // The generator must exercise both sides: accepted requests and many kinds of refusal.
  assert.ok((verdicts.get('ok') ?? 0) > 50, `too few accepted requests: ${JSON.stringify([...verdicts])}`);
  assert.ok(verdicts.size >= 8, `too few kinds of verdict: ${JSON.stringify([...verdicts])}`);
  assert.ok(canonical > N / 3, `too few canonical requests generated (${canonical})`);
  console.log(`csr differential: ${2 * N} inputs, reader answered ${answered}, canonical ${canonical}; verdicts ${JSON.stringify(Object.fromEntries(verdicts))}`);
  void createHash;
});
