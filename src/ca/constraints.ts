// RFC 5280 §4.2.1.10 name constraints: building the extension for CA certificates (always with
// @peculiar/asn1-x509, never hand-rolled DER), reading it back, and the dNSName matching rule.
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { CaError } from './errors.js';
import { x509 } from './x509.js';

export const NAME_CONSTRAINTS_OID = id_ce_nameConstraints;

/** RFC 5280 §4.2.1.10: iPAddress subtrees are address+mask; all-zero masks cover every address. */
export const ALL_IPV4 = '0.0.0.0/0';
export const ALL_IPV6 = '::/0';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Canonical form of a dNSName subtree: lowercase, no trailing dot. A leading "." is kept: it is the
 * common extension (honoured by OpenSSL, Go, NSS) meaning "subdomains only, not the name itself".
 */
export function normalizeDnsSubtree(input: string): string {
  let s = input.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  const body = s.startsWith('.') ? s.slice(1) : s;
  if (!body || body.length > 253 || !body.split('.').every((l) => LABEL.test(l))) {
    throw new CaError('CA_NAME_INVALID', `not a DNS name subtree: ${JSON.stringify(input)} (expected e.g. n3x.internal)`);
  }
  if (/^[0-9.]+$/.test(body)) throw new CaError('CA_NAME_INVALID', `${JSON.stringify(input)} looks like an IP address, not a DNS name`);
  return s;
}

/**
 * RFC 5280 §4.2.1.10: "any DNS name that can be constructed by simply adding zero or more labels to
 * the left-hand side of the name satisfies the name constraint" (case-insensitive, whole labels:
 * example.com permits www.example.com but not wwwexample.com). A subtree with a leading "." permits
 * only names strictly below it. A wildcard SAN (*.a.example.com) is matched as a name with a "*"
 * label, which is what verifiers do. `permitted` empty means nothing is permitted (callers represent
 * "no DNS constraints" as null, see permittedDnsOf).
 */
export function dnsNamePermitted(name: string, permitted: readonly string[]): boolean {
  let n = name.trim().toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (!n) return false;
  return permitted.some((raw) => {
    let c = raw.trim().toLowerCase();
    if (c.endsWith('.')) c = c.slice(0, -1);
    if (!c) return true; // RFC 5280: an empty dNSName subtree matches every name.
    if (c.startsWith('.')) return n.endsWith(c) && n.length > c.length;
    return n === c || n.endsWith('.' + c);
  });
}

/**
 * True when every name permitted by `inner` (a set of subtrees) is permitted by `outer`: "equal or
 * narrower". A plain subtree a.example is within outer when a.example itself is permitted (its
 * subdomains then are too, matching is by suffix); ".a.example" only needs its subdomains, probed
 * with a "*" label that no valid subtree contains.
 */
export function dnsSubtreesWithin(inner: readonly string[], outer: readonly string[]): boolean {
  return inner.every((sub) => dnsNamePermitted(sub.startsWith('.') ? '*' + sub : sub, outer));
}

export interface NameConstraintsSpec {
  permittedDns: readonly string[];
  excludedDns?: readonly string[];
  /** CIDR strings, e.g. 0.0.0.0/0 and ::/0 to forbid every IP SAN. */
  excludedIp?: readonly string[];
}

/** The critical nameConstraints extension (RFC 5280 §4.2.1.10: "Conforming CAs MUST mark this extension as critical"). */
export function nameConstraintsExtension(spec: NameConstraintsSpec): x509.Extension {
  const subtrees = (names: GeneralName[]) => new GeneralSubtrees(names.map((base) => new GeneralSubtree({ base })));
  const nc = new NameConstraints();
  if (spec.permittedDns.length) nc.permittedSubtrees = subtrees(spec.permittedDns.map((dNSName) => new GeneralName({ dNSName })));
  const excluded = [
    ...(spec.excludedDns ?? []).map((dNSName) => new GeneralName({ dNSName })),
    ...(spec.excludedIp ?? []).map((iPAddress) => new GeneralName({ iPAddress })),
  ];
  if (excluded.length) nc.excludedSubtrees = subtrees(excluded);
  if (!nc.permittedSubtrees && !nc.excludedSubtrees) throw new CaError('CA_NAME_INVALID', 'name constraints need at least one subtree');
  return new x509.Extension(NAME_CONSTRAINTS_OID, true, AsnConvert.serialize(nc));
}

export interface ParsedNameConstraints {
  critical: boolean;
  permittedDns: string[];
  excludedDns: string[];
  permittedIp: string[];
  excludedIp: string[];
  /** Other name forms (email, URI, directoryName…), described, for inspect. */
  other: string[];
}

function describe(g: GeneralName): { dns?: string; ip?: string; other?: string } {
  if (g.dNSName !== undefined) return { dns: g.dNSName };
  if (g.iPAddress !== undefined) return { ip: g.iPAddress };
  if (g.rfc822Name !== undefined) return { other: `email:${g.rfc822Name}` };
  if (g.uniformResourceIdentifier !== undefined) return { other: `URI:${g.uniformResourceIdentifier}` };
  if (g.directoryName !== undefined) return { other: 'directoryName' };
  return { other: 'other' };
}

/** The nameConstraints of a certificate (or any extension list), or null when it has none. */
export function nameConstraintsOf(source: x509.X509Certificate | readonly x509.Extension[]): ParsedNameConstraints | null {
  const exts = Array.isArray(source) ? (source as readonly x509.Extension[]) : (source as x509.X509Certificate).extensions;
  const ext = exts.find((e) => e.type === NAME_CONSTRAINTS_OID);
  if (!ext) return null;
  let nc: NameConstraints;
  try {
    nc = AsnConvert.parse(ext.value, NameConstraints);
  } catch (err) {
    throw new CaError('CA_PEM_INVALID', 'malformed nameConstraints extension', { cause: err });
  }
  const out: ParsedNameConstraints = { critical: ext.critical, permittedDns: [], excludedDns: [], permittedIp: [], excludedIp: [], other: [] };
  for (const [list, dns, ip] of [
    [nc.permittedSubtrees, out.permittedDns, out.permittedIp],
    [nc.excludedSubtrees, out.excludedDns, out.excludedIp],
  ] as const) {
    for (const st of list ?? []) {
      const d = describe(st.base);
      if (d.dns !== undefined) dns.push(d.dns);
      else if (d.ip !== undefined) ip.push(d.ip);
      else out.other.push(d.other!);
    }
  }
  return out;
}

/** The permitted dNSName subtrees of a CA certificate; null = no DNS name constraints at all. */
export function permittedDnsOf(cert: x509.X509Certificate): string[] | null {
  const nc = nameConstraintsOf(cert);
  if (!nc || nc.permittedDns.length === 0) return null;
  return nc.permittedDns;
}

/** A CA on the path whose name constraints a leaf must satisfy, named for messages ("the root …"). */
export interface ConstrainingCa {
  label: string;
  certificate: x509.X509Certificate;
}

export interface RefusedName {
  name: string;
  /** Names the CA and the subtree that refuse it, e.g. "outside the intermediate's permitted DNS names (n3x.internal)". */
  reason: string;
}

const parsedConstraints = new WeakMap<x509.X509Certificate, Readonly<ParsedNameConstraints> | null>();

function constraintsOfCa(cert: x509.X509Certificate): Readonly<ParsedNameConstraints> | null {
  let nc = parsedConstraints.get(cert);
  if (nc === undefined) parsedConstraints.set(cert, (nc = nameConstraintsOf(cert)));
  return nc;
}

/**
 * The names a leaf issued under `cas` could not carry (RFC 5280 §4.2.1.10: every CA certificate on
 * the path constrains the names below it, so each one's permitted and excluded dNSName subtrees
 * apply). A name may be "*.suffix": it stands for every name under the suffix (a wildcard label is
 * matched as verifiers do), so a suffix is refused only when no name under it could be certified.
 * Each certificate's constraints are parsed once and remembered (a certificate never changes; the
 * check runs at every newOrder and finalize); the order of `names` is kept.
 */
export function namesOutsideConstraints(names: readonly string[], cas: readonly ConstrainingCa[]): RefusedName[] {
  const parsed = cas.map((ca) => ({ label: ca.label, nc: constraintsOfCa(ca.certificate) }));
  const out: RefusedName[] = [];
  for (const name of names) {
    for (const { label, nc } of parsed) {
      if (!nc) continue;
      if (nc.permittedDns.length && !dnsNamePermitted(name, nc.permittedDns)) {
        out.push({ name, reason: `outside ${label}'s permitted DNS names (${nc.permittedDns.join(', ')})` });
        break;
      }
      const excluded = nc.excludedDns.find((e) => dnsNamePermitted(name, [e]));
      if (excluded !== undefined) {
        out.push({ name, reason: `inside ${label}'s excluded DNS subtree ${excluded}` });
        break;
      }
    }
  }
  return out;
}
