// Leaf certificates from a per-issuer template: the parts that are the same for every leaf of one
// issuer (signature algorithm, issuer name, basicConstraints, keyUsage, extKeyUsage, AKI, CRL
// distribution point) are serialized once with @peculiar/asn1-x509 and @peculiar/x509; per
// issuance only serial, validity, SPKI, SKI and SAN are written, and the TBSCertificate is signed
// with node:crypto. The profile is issueLeaf's (leaf.ts); test/ca/leaf-template.test.ts shows the
// TBSCertificate is byte-identical to the @peculiar/x509 builder's for randomized inputs and that
// openssl verifies every result. issueLeaf stays the reference and the path for every other caller.
import { createHash, KeyObject, sign } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Name } from '@peculiar/asn1-x509';
import { CaError } from './errors.js';
import { checkLeafRequest, leafKeyUsage, type IssuerMaterial } from './leaf.js';
import { randomSerial } from './serial.js';
import { authorityKeyIdentifierFor, x509 } from './x509.js';

export interface TemplateLeafRequest {
  /** DER SubjectPublicKeyInfo, as in the CSR (RFC 2986 §4.1). */
  spki: Uint8Array;
  dnsNames: readonly string[];
  notBefore: Date;
  notAfter: Date;
  /** Hex; a fresh 128-bit random serial when omitted. */
  serial?: string;
  crlDistributionPoints?: readonly string[];
}

export interface TemplateLeaf {
  der: Buffer;
  /** RFC 7468 PEM, as x509.X509Certificate.toString('pem') writes it. */
  pem: string;
  /** Lowercase hex without a sign octet, as x509.X509Certificate.serialNumber prints it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** RFC 5280 §4.2.1.1: the issuer's key identifier, hex (for ARI certIDs). */
  akiKeyId: string;
}

export interface LeafTemplate {
  issue(req: TemplateLeafRequest): TemplateLeaf;
}

// --- DER (X.690 §8.1): tag, definite length, contents --------------------------------------------

function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const n = body.length;
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : n < 0x10000 ? [tag, 0x82, n >> 8, n & 0xff] : [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;

/** Reads the TLV at offset; returns its contents' bounds and the offset after it. */
function readTlv(der: Uint8Array, offset: number): { tag: number; start: number; end: number } {
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const octets = len & 0x7f;
    if (octets < 1 || octets > 3) throw new CaError('CA_KEY_UNSUPPORTED', 'unsupported DER length in the public key');
    len = 0;
    for (let i = 0; i < octets; i++) len = (len << 8) | der[start + i]!;
    start += octets;
  }
  if (start + len > der.length) throw new CaError('CA_KEY_UNSUPPORTED', 'truncated public key');
  return { tag, start, end: start + len };
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value (no unused-bits octet). */
function subjectKeyId(spki: Uint8Array): Buffer {
  const outer = readTlv(spki, 0);
  const alg = readTlv(spki, outer.start);
  const bits = readTlv(spki, alg.end);
  if (outer.tag !== SEQUENCE || alg.tag !== SEQUENCE || bits.tag !== BIT_STRING) throw new CaError('CA_KEY_UNSUPPORTED', 'not a SubjectPublicKeyInfo');
  return createHash('sha1').update(spki.subarray(bits.start + 1, bits.end)).digest();
}

/**
 * RFC 5280 §4.1.2.2 as @peculiar/x509 encodes it: leading zero octets dropped, a 00 added before
 * a high bit; a serial that is zero (or empty) is replaced by a random one, as the builder does.
 */
function serialOctets(hex: string): Buffer {
  let bytes = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  if (!bytes.some((b) => b > 0)) bytes = Buffer.from(randomSerial(), 'hex');
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  bytes = bytes.subarray(i);
  return bytes[0]! > 0x7f ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
function time(d: Date): Buffer {
  const iso = new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return d.getUTCFullYear() > 2049 ? tlv(0x18, Buffer.from(digits + 'Z', 'latin1')) : tlv(0x17, Buffer.from(digits.slice(2) + 'Z', 'latin1'));
}

const OID_SKI = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]);
const OID_SAN = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x11]);
const CRITICAL = Buffer.from([0x01, 0x01, 0xff]);
const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);
const EMPTY_NAME = Buffer.from([0x30, 0x00]);

// --- the issuer's constant parts -----------------------------------------------------------------

interface Signing {
  algorithmDer: Buffer;
  sign(tbs: Buffer): Buffer;
}

/** The signatureAlgorithm (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3) and a node:crypto signer for it. */
function signingFor(privateKey: CryptoKey): Signing {
  const key = KeyObject.from(privateKey);
  const a = privateKey.algorithm as EcKeyAlgorithm;
  const alg = (oid: string, nullParams: boolean): Buffer => Buffer.from(AsnConvert.serialize(new AlgorithmIdentifier({ algorithm: oid, ...(nullParams ? { parameters: null } : {}) })));
  switch (a.name) {
    case 'ECDSA': {
      const [oid, hash] = a.namedCurve === 'P-384' ? ['1.2.840.10045.4.3.3', 'sha384'] : a.namedCurve === 'P-521' ? ['1.2.840.10045.4.3.4', 'sha512'] : ['1.2.840.10045.4.3.2', 'sha256'];
      return { algorithmDer: alg(oid!, false), sign: (tbs) => sign(hash!, tbs, { key, dsaEncoding: 'der' }) };
    }
    case 'Ed25519':
      return { algorithmDer: alg('1.3.101.112', false), sign: (tbs) => sign(null, tbs, key) };
    case 'RSASSA-PKCS1-v1_5':
      return { algorithmDer: alg('1.2.840.113549.1.1.11', true), sign: (tbs) => sign('sha256', tbs, key) };
    default:
      throw new CaError('CA_KEY_UNSUPPORTED', `unsupported key algorithm ${a.name}`);
  }
}

function extensionDer(ext: x509.Extension): Buffer {
  return Buffer.from(ext.rawData);
}

/** Builds the template for one issuer (a few ms, once per issuer key). */
export async function createLeafTemplate(issuer: IssuerMaterial): Promise<LeafTemplate> {
  const signing = signingFor(issuer.privateKey);
  const issuerName = Buffer.from(AsnConvert.serialize(AsnConvert.parse(issuer.certificate.subjectName.toArrayBuffer(), Name)));
  const aki = await authorityKeyIdentifierFor(issuer.certificate);
  const head = Buffer.concat([extensionDer(new x509.BasicConstraintsExtension(false, undefined, true))]);
  const keyUsage = (rsa: boolean): Buffer => extensionDer(new x509.KeyUsagesExtension(leafKeyUsage(rsa ? 'RSASSA-PKCS1-v1_5' : 'ECDSA'), true));
  const afterKeyUsage = extensionDer(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false));
  const usage = { rsa: Buffer.concat([head, keyUsage(true), afterKeyUsage]), other: Buffer.concat([head, keyUsage(false), afterKeyUsage]) };
  const akiDer = extensionDer(aki);
  const cdps = new Map<string, Buffer>();
  const cdpDer = (urls: readonly string[]): Buffer => {
    const id = urls.join('\n');
    let der = cdps.get(id);
    if (!der) cdps.set(id, (der = extensionDer(new x509.CRLDistributionPointsExtension([...urls]))));
    return der;
  };
  const notAfterLimit = issuer.certificate.notAfter;
  return {
    issue(req) {
      checkLeafRequest(req, notAfterLimit);
      const serialHex = req.serial ?? randomSerial();
      const serial = serialOctets(serialHex);
      const spki = Buffer.from(req.spki);
      const rsa = isRsaSpki(spki);
      const ski = tlv(SEQUENCE, OID_SKI, tlv(OCTET_STRING, tlv(OCTET_STRING, subjectKeyId(spki))));
      const san = tlv(SEQUENCE, OID_SAN, CRITICAL, tlv(OCTET_STRING, tlv(SEQUENCE, ...req.dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'latin1'))))));
      const extensions = [rsa ? usage.rsa : usage.other, ski, akiDer, san];
      if (req.crlDistributionPoints?.length) extensions.push(cdpDer(req.crlDistributionPoints));
      const tbs = tlv(SEQUENCE,
        VERSION_3,
        tlv(INTEGER, serial),
        signing.algorithmDer,
        issuerName,
        tlv(SEQUENCE, time(req.notBefore), time(req.notAfter)),
        EMPTY_NAME,
        spki,
        tlv(0xa3, tlv(SEQUENCE, ...extensions)));
      const signature = signing.sign(tbs);
      const der = tlv(SEQUENCE, tbs, signing.algorithmDer, tlv(BIT_STRING, Buffer.from([0]), signature));
      return {
        der,
        pem: x509.PemConverter.encode(new Uint8Array(der), 'CERTIFICATE'),
        serial: (serial[0] === 0 && serial.length > 1 ? serial.subarray(1) : serial).toString('hex'),
        notBefore: new Date(Math.floor(req.notBefore.getTime() / 1000) * 1000),
        notAfter: new Date(Math.floor(req.notAfter.getTime() / 1000) * 1000),
        akiKeyId: aki.keyId ?? '',
      };
    },
  };
}

/** rsaEncryption (RFC 8017 appendix C): the key type that also needs keyEncipherment. */
function isRsaSpki(spki: Buffer): boolean {
  const outer = readTlv(spki, 0);
  const alg = readTlv(spki, outer.start);
  const oid = readTlv(spki, alg.start);
  return Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]).equals(spki.subarray(oid.start, oid.end));
}
