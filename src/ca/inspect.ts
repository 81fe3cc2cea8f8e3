// Human and JSON views of certificates, CSRs and CRLs (PEM or DER), for `nixca inspect` and for
// the fingerprints the ceremony prints. Parsing only: nothing here trusts what it reads.
import { createHash, createPublicKey } from 'node:crypto';
import { nameConstraintsOf, type ParsedNameConstraints } from './constraints.js';
import { crlNumberOf } from './crl.js';
import { CaError } from './errors.js';
import { x509 } from './x509.js';

/** SHA-256 of DER bytes, lowercase hex: the fingerprint form used in files and JSON. */
export function sha256Hex(der: ArrayBuffer | Uint8Array): string {
  return createHash('sha256').update(der instanceof Uint8Array ? der : new Uint8Array(der)).digest('hex');
}

/** "AB:CD:…", the form `openssl x509 -fingerprint -sha256` prints, for people comparing by eye. */
export function colonHex(hex: string): string {
  return hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

export function certFingerprint(cert: x509.X509Certificate): string {
  return sha256Hex(cert.rawData);
}

/** SHA-256 of the SubjectPublicKeyInfo: identifies a key across its CSR and certificate. */
export function spkiFingerprint(key: x509.PublicKey): string {
  return sha256Hex(key.rawData);
}

const KEY_USAGE_NAMES: [number, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

export function describePublicKey(key: x509.PublicKey): string {
  try {
    const ko = createPublicKey({ key: Buffer.from(key.rawData), format: 'der', type: 'spki' });
    const d = ko.asymmetricKeyDetails ?? {};
    switch (ko.asymmetricKeyType) {
      case 'ec': return `ECDSA ${d.namedCurve === 'prime256v1' ? 'P-256' : d.namedCurve === 'secp384r1' ? 'P-384' : d.namedCurve === 'secp521r1' ? 'P-521' : d.namedCurve}`;
      case 'rsa': return `RSA ${d.modulusLength}`;
      case 'rsa-pss': return `RSA-PSS ${d.modulusLength}`;
      default: return String(ko.asymmetricKeyType);
    }
  } catch {
    return key.algorithm.name;
  }
}

function namesOf(exts: readonly x509.Extension[]): string[] {
  const san = exts.find((e) => e.type === '2.5.29.17');
  if (!san) return [];
  return new x509.SubjectAlternativeNameExtension(san.rawData).names.toJSON().map((n) => `${n.type}:${n.value}`);
}

interface ExtensionViews {
  basicConstraints: { ca: boolean; pathLen: number | null; critical: boolean } | null;
  keyUsage: { usages: string[]; critical: boolean } | null;
  extKeyUsage: string[] | null;
  subjectAltNames: string[];
  nameConstraints: ParsedNameConstraints | null;
  subjectKeyId: string | null;
  authorityKeyId: string | null;
  crlDistributionPoints: string[];
  /** OIDs of critical extensions this tool does not describe. */
  otherExtensions: { oid: string; critical: boolean }[];
}

const KNOWN = new Set(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17', '2.5.29.30', '2.5.29.14', '2.5.29.35', '2.5.29.31']);

function extensionViews(exts: readonly x509.Extension[]): ExtensionViews {
  const find = (oid: string) => exts.find((e) => e.type === oid);
  const bc = find('2.5.29.19');
  const ku = find('2.5.29.15');
  const eku = find('2.5.29.37');
  const ski = find('2.5.29.14');
  const aki = find('2.5.29.35');
  const cdp = find('2.5.29.31');
  const bcv = bc ? new x509.BasicConstraintsExtension(bc.rawData) : null;
  const kuv = ku ? new x509.KeyUsagesExtension(ku.rawData) : null;
  return {
    basicConstraints: bcv ? { ca: bcv.ca, pathLen: bcv.pathLength ?? null, critical: bcv.critical } : null,
    keyUsage: kuv ? { usages: KEY_USAGE_NAMES.filter(([f]) => kuv.usages & f).map(([, n]) => n), critical: kuv.critical } : null,
    extKeyUsage: eku ? new x509.ExtendedKeyUsageExtension(eku.rawData).usages.map((u) => EKU_NAMES[String(u)] ?? String(u)) : null,
    subjectAltNames: namesOf(exts),
    nameConstraints: nameConstraintsOf(exts),
    subjectKeyId: ski ? new x509.SubjectKeyIdentifierExtension(ski.rawData).keyId : null,
    authorityKeyId: aki ? (new x509.AuthorityKeyIdentifierExtension(aki.rawData).keyId ?? null) : null,
    crlDistributionPoints: cdp
      ? new x509.CRLDistributionPointsExtension(cdp.rawData).distributionPoints.flatMap((dp) =>
          (dp.distributionPoint?.fullName ?? []).map((g) => g.uniformResourceIdentifier ?? '').filter(Boolean),
        )
      : [],
    otherExtensions: exts.filter((e) => !KNOWN.has(e.type)).map((e) => ({ oid: e.type, critical: e.critical })),
  };
}

export interface CertificateView extends ExtensionViews {
  type: 'certificate';
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  selfSigned: boolean;
  publicKey: string;
  signatureAlgorithm: string;
  sha256: string;
  spkiSha256: string;
}

export interface CsrView {
  type: 'csr';
  subject: string;
  publicKey: string;
  signatureValid: boolean;
  sha256: string;
  spkiSha256: string;
  requestedExtensions: ExtensionViews;
}

export interface CrlView {
  type: 'crl';
  issuer: string;
  thisUpdate: string;
  nextUpdate: string | null;
  crlNumber: number | null;
  authorityKeyId: string | null;
  signatureAlgorithm: string;
  sha256: string;
  entries: { serial: string; revocationDate: string; reason: string | null }[];
}

export type View = CertificateView | CsrView | CrlView;

function sigAlg(a: { name: string; hash?: { name: string } }): string {
  return a.hash ? `${a.name} with ${a.hash.name}` : a.name;
}

export async function viewCertificate(cert: x509.X509Certificate): Promise<CertificateView> {
  let selfSigned: boolean;
  try {
    selfSigned = cert.subject === cert.issuer && (await cert.isSelfSigned());
  } catch {
    selfSigned = false;
  }
  return {
    type: 'certificate',
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    selfSigned,
    publicKey: describePublicKey(cert.publicKey),
    signatureAlgorithm: sigAlg(cert.signatureAlgorithm as never),
    sha256: certFingerprint(cert),
    spkiSha256: spkiFingerprint(cert.publicKey),
    ...extensionViews(cert.extensions),
  };
}

export async function viewCsr(csr: x509.Pkcs10CertificateRequest): Promise<CsrView> {
  let signatureValid: boolean;
  try {
    signatureValid = await csr.verify();
  } catch {
    signatureValid = false;
  }
  return {
    type: 'csr',
    subject: csr.subject,
    publicKey: describePublicKey(csr.publicKey),
    signatureValid,
    sha256: sha256Hex(csr.rawData),
    spkiSha256: spkiFingerprint(csr.publicKey),
    requestedExtensions: extensionViews(csr.extensions),
  };
}

export function viewCrl(crl: x509.X509Crl): CrlView {
  const aki = crl.extensions.find((e) => e.type === '2.5.29.35');
  return {
    type: 'crl',
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate?.toISOString() ?? null,
    crlNumber: crlNumberOf(crl),
    authorityKeyId: aki ? (new x509.AuthorityKeyIdentifierExtension(aki.rawData).keyId ?? null) : null,
    signatureAlgorithm: sigAlg(crl.signatureAlgorithm as never),
    sha256: sha256Hex(crl.rawData),
    entries: crl.entries.map((e) => ({
      serial: e.serialNumber.toLowerCase(),
      revocationDate: e.revocationDate.toISOString(),
      reason: e.reason === undefined ? null : (x509.X509CrlReason[e.reason] ?? String(e.reason)),
    })),
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Views of every object in a PEM file, or of one DER object (certificate, CSR or CRL, tried in that order). */
export async function inspectBytes(data: Uint8Array): Promise<View[]> {
  const text = Buffer.from(data).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const views: View[] = [];
    for (const m of text.matchAll(PEM_BLOCK)) {
      const label = m[1]!;
      const der = Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
      try {
        if (label === 'CERTIFICATE' || label === 'TRUSTED CERTIFICATE') views.push(await viewCertificate(new x509.X509Certificate(der)));
        else if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST') views.push(await viewCsr(new x509.Pkcs10CertificateRequest(der)));
        else if (label === 'X509 CRL' || label === 'CRL') views.push(viewCrl(new x509.X509Crl(der)));
        else if (label.includes('PRIVATE KEY')) throw new CaError('CA_PEM_INVALID', 'this is a private key; inspect shows certificates, CSRs and CRLs only (and never prints keys)');
        else throw new CaError('CA_PEM_INVALID', `unsupported PEM block "${label}"`);
      } catch (err) {
        if (err instanceof CaError) throw err;
        throw new CaError('CA_PEM_INVALID', `damaged ${label} PEM block: ${(err as Error).message}`, { cause: err });
      }
    }
    if (views.length === 0) throw new CaError('CA_PEM_INVALID', 'no complete PEM block found');
    return views;
  }
  const der = Buffer.from(data);
  const attempts: [string, () => Promise<View> | View][] = [
    ['certificate', async () => viewCertificate(new x509.X509Certificate(der))],
    ['csr', async () => viewCsr(new x509.Pkcs10CertificateRequest(der))],
    ['crl', () => viewCrl(new x509.X509Crl(der))],
  ];
  for (const [, attempt] of attempts) {
    try {
      return [await attempt()];
    } catch {
      // try the next type
    }
  }
  throw new CaError('CA_PEM_INVALID', 'not a certificate, CSR or CRL (neither PEM nor DER of one)');
}

function extText(v: ExtensionViews, indent: string): string[] {
  const out: string[] = [];
  const crit = (c: boolean) => (c ? ' (critical)' : '');
  if (v.basicConstraints) out.push(`basic constraints:  CA:${v.basicConstraints.ca ? 'TRUE' : 'FALSE'}${v.basicConstraints.pathLen !== null ? `, pathLen ${v.basicConstraints.pathLen}` : ''}${crit(v.basicConstraints.critical)}`);
  if (v.keyUsage) out.push(`key usage:          ${v.keyUsage.usages.join(', ')}${crit(v.keyUsage.critical)}`);
  if (v.extKeyUsage) out.push(`ext key usage:      ${v.extKeyUsage.join(', ')}`);
  if (v.subjectAltNames.length) out.push(`names (SAN):        ${v.subjectAltNames.join(', ')}`);
  if (v.nameConstraints) {
    const nc = v.nameConstraints;
    const permitted = [...nc.permittedDns.map((d) => 'DNS:' + d), ...nc.permittedIp.map((i) => 'IP:' + i)];
    const excluded = [...nc.excludedDns.map((d) => 'DNS:' + d), ...nc.excludedIp.map((i) => 'IP:' + i)];
    out.push(`name constraints:  ${crit(nc.critical)}`);
    out.push(`  permitted:        ${permitted.join(', ') || '-'}`);
    out.push(`  excluded:         ${excluded.join(', ') || '-'}`);
    if (nc.other.length) out.push(`  other forms:      ${nc.other.join(', ')}`);
  }
  if (v.subjectKeyId) out.push(`subject key id:     ${colonHex(v.subjectKeyId)}`);
  if (v.authorityKeyId) out.push(`authority key id:   ${colonHex(v.authorityKeyId)}`);
  if (v.crlDistributionPoints.length) out.push(`CRL distribution:   ${v.crlDistributionPoints.join(', ')}`);
  for (const o of v.otherExtensions) out.push(`extension ${o.oid}${crit(o.critical)}`);
  return out.map((l) => indent + l);
}

export function renderView(v: View): string {
  switch (v.type) {
    case 'certificate':
      return [
        `certificate${v.selfSigned ? ' (self-signed)' : ''}`,
        `  subject:            ${v.subject || '(empty)'}`,
        `  issuer:             ${v.issuer}`,
        `  serial:             ${v.serial}`,
        `  valid:              ${v.notBefore} → ${v.notAfter}`,
        `  public key:         ${v.publicKey}`,
        `  signature:          ${v.signatureAlgorithm}`,
        ...extText(v, '  '),
        `  SHA-256:            ${colonHex(v.sha256)}`,
        `  key SHA-256 (SPKI): ${colonHex(v.spkiSha256)}`,
      ].join('\n');
    case 'csr': {
      const ext = extText(v.requestedExtensions, '    ');
      return [
        'certificate request (PKCS#10)',
        `  subject:            ${v.subject || '(empty)'}`,
        `  public key:         ${v.publicKey}`,
        `  signature:          ${v.signatureValid ? 'valid' : 'INVALID'}`,
        ...(ext.length ? ['  requested extensions:', ...ext] : ['  requested extensions: none']),
        `  SHA-256:            ${colonHex(v.sha256)}`,
        `  key SHA-256 (SPKI): ${colonHex(v.spkiSha256)}`,
      ].join('\n');
    }
    case 'crl':
      return [
        'certificate revocation list',
        `  issuer:             ${v.issuer}`,
        `  CRL number:         ${v.crlNumber ?? '-'}`,
        `  this update:        ${v.thisUpdate}`,
        `  next update:        ${v.nextUpdate ?? '-'}`,
        `  signature:          ${v.signatureAlgorithm}`,
        `  authority key id:   ${v.authorityKeyId ? colonHex(v.authorityKeyId) : '-'}`,
        `  SHA-256:            ${colonHex(v.sha256)}`,
        `  revoked (${v.entries.length}):${v.entries.length ? '' : ' none'}`,
        ...v.entries.map((e) => `    ${e.serial}  ${e.revocationDate}${e.reason ? '  ' + e.reason : ''}`),
      ].join('\n');
  }
}
