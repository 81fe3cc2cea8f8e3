// The self-signed root: the trust anchor of the fleet, created once on an air-gapped machine.
import { ALL_IPV4, ALL_IPV6, nameConstraintsExtension, normalizeDnsSubtree } from './constraints.js';
import { CaError } from './errors.js';
import { generateKeyPair, signingAlgorithm, type KeyAlgorithm } from './keys.js';
import { randomSerial } from './serial.js';
import { x509 } from './x509.js';

export interface RootOptions {
  commonName: string;
  /** Permitted dNSName subtrees (RFC 5280 §4.2.1.10); at least one: the root never certifies the whole DNS. */
  permittedDns: readonly string[];
  /** Leave IP SANs unconstrained; by default every IPv4/IPv6 address is an excluded subtree. */
  allowIp?: boolean;
  /** Default 3650 (ten years). */
  validityDays?: number;
  /** Default ECDSA-P384. */
  keyAlgorithm?: KeyAlgorithm;
  now?: Date;
  /** Use this key pair instead of generating one (tests; an HSM-held key in the future). */
  keys?: CryptoKeyPair;
}

export const DAY_MS = 86_400_000;

/** A subject DN with only a CN. x509.Name parses RFC 4514 strings, so commas etc. are escaped. */
export function commonNameDn(commonName: string): string {
  const cn = commonName.trim();
  if (!cn) throw new CaError('CA_NAME_INVALID', 'a CA needs a non-empty name (RFC 5280 §4.1.2.6: a CA subject is never empty)');
  if (cn.length > 64) throw new CaError('CA_NAME_INVALID', 'the common name is longer than 64 characters (RFC 5280 ub-common-name)');
  return 'CN=' + cn.replace(/([,+"\\<>;=#])/g, '\\$1');
}

export function validityDaysOrThrow(days: number, what: string): number {
  if (!Number.isInteger(days) || days < 1) throw new CaError('CA_VALIDITY_INVALID', `${what} validity must be a whole number of days ≥ 1, got ${days}`);
  return days;
}

/** Normalized, de-duplicated permitted subtrees; at least one. */
export function permittedSubtrees(names: readonly string[]): string[] {
  const out = [...new Set(names.map(normalizeDnsSubtree))];
  if (out.length === 0) throw new CaError('CA_NAME_INVALID', 'at least one permitted DNS subtree is required (e.g. n3x.internal)');
  return out;
}

export function rootExtensionsProfile(opts: { permittedDns: readonly string[]; allowIp?: boolean }): x509.Extension[] {
  return [
    // RFC 5280 §4.2.1.9: critical in CA certificates; pathLen 1 = root → intermediate → leaf only.
    new x509.BasicConstraintsExtension(true, 1, true),
    // §4.2.1.3: a root signs certificates and CRLs, nothing else.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    nameConstraintsExtension({ permittedDns: opts.permittedDns, excludedIp: opts.allowIp ? [] : [ALL_IPV4, ALL_IPV6] }),
  ];
}

export async function createRoot(opts: RootOptions): Promise<{ certificate: x509.X509Certificate; keys: CryptoKeyPair }> {
  const permittedDns = permittedSubtrees(opts.permittedDns);
  const name = commonNameDn(opts.commonName);
  const days = validityDaysOrThrow(opts.validityDays ?? 3650, 'root');
  const keys = opts.keys ?? (await generateKeyPair(opts.keyAlgorithm ?? 'ECDSA-P384'));
  const notBefore = opts.now ?? new Date();
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      ...rootExtensionsProfile({ permittedDns, allowIp: opts.allowIp }),
      ski,
      // §4.2.1.1 allows omitting AKI on a self-signed root; we include it (= SKI) so every
      // certificate in the fleet has one and cross-certificates chain the same way.
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  return { certificate, keys };
}
