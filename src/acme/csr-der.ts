// A single-pass reader of PKCS#10 requests (RFC 2986 §4) for what finalize needs: the signed
// certificationRequestInfo, the SubjectPublicKeyInfo, the subject's common names, the requested
// subjectAltNames and basicConstraints (PKCS#9 extensionRequest, RFC 2985 §5.4.2), the signature.
//
// It answers only for canonical DER (X.690 §10) built from a small set of universal types, and
// returns undefined for anything else (BER, unusual string or name types, non-DNS names, odd
// encodings): the caller then asks @peculiar/asn1-csr, which stays the reference. So this reader
// never has to reproduce the library's leniency; test/acme/csr-differential.test.ts shows, on
// generated good and bad requests, that whenever it answers, the library answers the same.

/** What checkCsr reads from a request, in the order it checks it. */
export interface CsrFields {
  /** certificationRequestInfo exactly as signed (RFC 2986 §4.2); absent, the library verifies. */
  info?: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** signatureAlgorithm OID, dotted. */
  signatureAlgorithm: string;
  /** The signature BIT STRING's value. */
  signature: Uint8Array;
  /**
   * Requested extensions, in request order, reduced to what is decided on: undefined if they
   * cannot be parsed; `ca` when basicConstraints cA=TRUE comes before any unparsable SAN.
   */
  extensions: { ca: boolean; sans: SanEntry[] } | undefined;
  /** Subject common names (2.5.4.3), in order; undefined if the subject cannot be parsed. */
  commonNames: string[] | undefined;
}

/** A requested subjectAltName: a DNS name, or only the kind of any other GeneralName. */
export type SanEntry = { dns: string } | { kind: 'IP address' | 'email' | 'URI' | 'non-DNS' };

class NotCanonical extends Error {}
const bail = (): never => {
  throw new NotCanonical();
};

interface Tlv {
  tag: number;
  /** Offset of the tag octet. */
  at: number;
  start: number;
  end: number;
}

/** One TLV at `p` within `limit`, definite minimal lengths only (X.690 §10.1). */
function tlv(b: Uint8Array, p: number, limit: number): Tlv {
  if (p + 2 > limit) bail();
  const tag = b[p]!;
  if ((tag & 0x1f) === 0x1f) bail();
  let len = b[p + 1]!;
  let start = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || start + n > limit || b[start] === 0) bail();
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    if (len < 0x80) bail();
    start += n;
  }
  const end = start + len;
  if (end > limit) bail();
  return { tag, at: p, start, end };
}

function expect(b: Uint8Array, p: number, limit: number, tag: number): Tlv {
  const t = tlv(b, p, limit);
  if (t.tag !== tag) bail();
  return t;
}

/** The elements of a constructed value. */
function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    const c = tlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** OBJECT IDENTIFIER contents → dotted (X.690 §8.19), minimal sub-identifiers only. */
function oid(b: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06 || t.end === t.start) bail();
  const arcs: number[] = [];
  let v = 0;
  let fresh = true;
  for (let i = t.start; i < t.end; i++) {
    const c = b[i]!;
    if (fresh && c === 0x80) bail();
    if (v > 0x1ffffff) bail();
    v = v * 128 + (c & 0x7f);
    fresh = !(c & 0x80);
    if (fresh) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  if (!fresh) bail();
  return arcs.join('.');
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function ascii(b: Uint8Array, t: Tlv): string {
  let s = '';
  for (let i = t.start; i < t.end; i++) {
    const c = b[i]!;
    if (c > 0x7f) bail();
    s += String.fromCharCode(c);
  }
  return s;
}

/** A directory string of the three types requests use (RFC 5280 §4.1.2.4); others are left to the library. */
function directoryString(b: Uint8Array, t: Tlv): string {
  switch (t.tag) {
    case 0x0c: {
      if (b[t.start] === 0xef && b[t.start + 1] === 0xbb && b[t.start + 2] === 0xbf) bail();
      try {
        return utf8.decode(b.subarray(t.start, t.end));
      } catch {
        return bail();
      }
    }
    case 0x13: {
      const s = ascii(b, t);
      return PRINTABLE.test(s) ? s : bail();
    }
    case 0x16:
      return ascii(b, t);
    default:
      return bail();
  }
}

/**
 * A value this reader does not interpret must still be one the library reads without surprise:
 * constructed values are walked, primitives limited to types whose contents it does not judge.
 */
function plain(b: Uint8Array, t: Tlv): void {
  switch (t.tag) {
    case 0x30:
    case 0x31:
      for (const c of children(b, t)) plain(b, c);
      return;
    case 0x02:
      if (t.end === t.start || (t.end - t.start > 1 && ((b[t.start] === 0 && b[t.start + 1]! < 0x80) || (b[t.start] === 0xff && b[t.start + 1]! >= 0x80)))) bail();
      return;
    case 0x03:
      // X.690 §11.2: at most 7 unused bits, none in an empty string.
      if (t.end === t.start || b[t.start]! > 7 || (t.end - t.start === 1 && b[t.start] !== 0)) bail();
      return;
    case 0x05:
      if (t.end !== t.start) bail();
      return;
    case 0x06:
      oid(b, t);
      return;
    case 0x0c:
    case 0x13:
    case 0x16:
      directoryString(b, t);
      return;
    case 0x04:
      return;
    default:
      bail();
  }
}

const CN = '2.5.4.3';
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SAN = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';

/** Name (RFC 5280 §4.1.2.4): SEQUENCE OF SET OF SEQUENCE { type, value }. */
function commonNames(b: Uint8Array, name: Tlv): string[] {
  const out: string[] = [];
  for (const rdn of children(b, name)) {
    if (rdn.tag !== 0x31) bail();
    for (const atv of children(b, rdn)) {
      if (atv.tag !== 0x30) bail();
      const [type, value, ...rest] = children(b, atv);
      if (!type || !value || rest.length) bail();
      if (oid(b, type!) === CN) out.push(directoryString(b, value!));
      else plain(b, value!);
    }
  }
  return out;
}

/** subjectAltName (RFC 5280 §4.2.1.6), dNSName entries only; any other GeneralName → the library. */
function sans(b: Uint8Array, value: Tlv): SanEntry[] {
  const seq = expect(b, value.start, value.end, 0x30);
  if (seq.end !== value.end) bail();
  const out: SanEntry[] = [];
  for (const g of children(b, seq)) {
    if (g.tag !== 0x82) bail();
    out.push({ dns: ascii(b, g) });
  }
  return out;
}

/** basicConstraints (RFC 5280 §4.2.1.9): cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL. */
function requestsCa(b: Uint8Array, value: Tlv): boolean {
  const seq = expect(b, value.start, value.end, 0x30);
  if (seq.end !== value.end) bail();
  const items = children(b, seq);
  let ca = false;
  let i = 0;
  if (items[0]?.tag === 0x01) {
    const t = items[0];
    if (t.end - t.start !== 1 || b[t.start] !== 0xff) bail();
    ca = true;
    i = 1;
  }
  if (items[i]) {
    plain(b, items[i]!);
    if (items[i]!.tag !== 0x02 || b[items[i]!.start]! >= 0x80) bail();
    i++;
  }
  if (i !== items.length) bail();
  return ca;
}

/** Extensions (RFC 5280 §4.1): the requested SANs and whether a CA certificate is asked for. */
function extensionRequest(b: Uint8Array, values: Tlv, into: Array<{ id: string; value: Tlv }>): void {
  for (const v of children(b, values)) {
    if (v.tag !== 0x30) bail();
    for (const ext of children(b, v)) {
      if (ext.tag !== 0x30) bail();
      const parts = children(b, ext);
      const id = parts[0] ? oid(b, parts[0]) : bail();
      let k = 1;
      if (parts[k]?.tag === 0x01) {
        // DER: a critical flag of FALSE is omitted (X.690 §11.5).
        if (parts[k]!.end - parts[k]!.start !== 1 || b[parts[k]!.start] !== 0xff) bail();
        k++;
      }
      const value = parts[k];
      if (!value || value.tag !== 0x04 || k + 1 !== parts.length) bail();
      if (id !== SAN && id !== BASIC_CONSTRAINTS && value!.end > value!.start) plain(b, tlv(b, value!.start, value!.end));
      into.push({ id, value: value! });
    }
  }
}

/** attributes [0] IMPLICIT SET OF Attribute (RFC 2986 §4.1). */
function attributes(b: Uint8Array, attrs: Tlv): { ca: boolean; sans: SanEntry[] } {
  const exts: Array<{ id: string; value: Tlv }> = [];
  for (const attr of children(b, attrs)) {
    if (attr.tag !== 0x30) bail();
    const [type, values, ...rest] = children(b, attr);
    if (!type || !values || rest.length || values.tag !== 0x31) bail();
    if (oid(b, type!) === EXTENSION_REQUEST) extensionRequest(b, values!, exts);
    else plain(b, values!);
  }
  const out: SanEntry[] = [];
  for (const e of exts) {
    if (e.id === SAN) out.push(...sans(b, e.value));
    if (e.id === BASIC_CONSTRAINTS && requestsCa(b, e.value)) return { ca: true, sans: out };
  }
  return { ca: false, sans: out };
}

const RSA = '1.2.840.113549.1.1.1';
const EC = '1.2.840.10045.2.1';
const ED25519 = '1.3.101.112';
const CURVES = new Set(['1.2.840.10045.3.1.7', '1.3.132.0.34', '1.3.132.0.35']);

/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of the key types this CA knows, as the library reads
 * them: RSA (RFC 8017 RSAPublicKey inside, NULL parameters), EC on a named NIST curve (RFC 5480),
 * Ed25519 without parameters (RFC 8410). Anything else is left to the library.
 */
function checkSpki(b: Uint8Array, spki: Tlv): void {
  const [alg, key, ...rest] = children(b, spki);
  if (!alg || !key || rest.length || alg.tag !== 0x30 || key.tag !== 0x03) bail();
  const [algOid, params, ...more] = children(b, alg!);
  if (!algOid || more.length) bail();
  if (key!.end === key!.start || b[key!.start] !== 0) bail();
  switch (oid(b, algOid!)) {
    case RSA: {
      if (!params || params.tag !== 0x05 || params.end !== params.start) bail();
      const inner = tlv(b, key!.start + 1, key!.end);
      if (inner.tag !== 0x30 || inner.end !== key!.end) bail();
      const ints = children(b, inner);
      if (ints.length !== 2 || ints.some((i) => i.tag !== 0x02)) bail();
      for (const i of ints) plain(b, i);
      return;
    }
    case EC:
      if (!params || !CURVES.has(oid(b, params))) bail();
      return;
    case ED25519:
      if (params) bail();
      return;
    default:
      bail();
  }
}

/** The fields of a canonical DER PKCS#10 request, or undefined: ask the library. */
export function readCsrDer(der: Uint8Array): CsrFields | undefined {
  try {
    const outer = expect(der, 0, der.length, 0x30);
    if (outer.end !== der.length) return undefined;
    const info = expect(der, outer.start, outer.end, 0x30);
    const algId = expect(der, info.end, outer.end, 0x30);
    const sig = expect(der, algId.end, outer.end, 0x03);
    if (sig.end !== outer.end || sig.end === sig.start || der[sig.start] !== 0) return undefined;
    const [algOid, algParams, ...algRest] = children(der, algId);
    if (!algOid || algRest.length || (algParams && (algParams.tag !== 0x05 || algParams.end !== algParams.start))) return undefined;
    const version = expect(der, info.start, info.end, 0x02);
    if (version.end - version.start !== 1 || der[version.start] !== 0) return undefined;
    const subject = expect(der, version.end, info.end, 0x30);
    const spki = expect(der, subject.end, info.end, 0x30);
    const attrs = expect(der, spki.end, info.end, 0xa0);
    if (attrs.end !== info.end) return undefined;
    checkSpki(der, spki);
    const names = commonNames(der, subject);
    const extensions = attributes(der, attrs);
    return {
      info: der.subarray(info.at, info.end),
      spki: der.subarray(spki.at, spki.end),
      signatureAlgorithm: oid(der, algOid!),
      signature: der.subarray(sig.start + 1, sig.end),
      extensions,
      commonNames: names,
    };
  } catch (err) {
    if (err instanceof NotCanonical) return undefined;
    throw err;
  }
}
