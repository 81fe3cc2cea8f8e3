// Name rules shared by the inventory, the ACME policy and the NixOS emitter. Refusing a bad name
// at the door is what keeps it out of certificates and out of generated Nix code.

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** RFC 1123 §2.1 host name (lowercase, LDH labels of 1–63, at most 253 octets, no trailing dot). */
export function isValidDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // A single-label name cannot be constrained by dNSName name constraints in a useful way.
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  // An all-numeric last label makes it look like an IPv4 address (RFC 3696 §2).
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/** Node names are single DNS labels: they become file names (`nodes/<node>.nix`) and Nix attribute names. */
export function isValidNodeName(name: string): boolean {
  return LABEL.test(name);
}

/** Lowercases and strips one trailing dot; does not validate. */
export function normalizeDnsName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** True when `name` is strictly below `suffix` (`a.bench.test` under `bench.test`; not `bench.test` itself). */
export function isUnderSuffix(name: string, suffix: string): boolean {
  return name.length > suffix.length + 1 && name.endsWith('.' + suffix);
}
