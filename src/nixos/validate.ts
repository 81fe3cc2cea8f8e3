// Everything the emitter writes is checked here first, even though the CLI already validated it
// when it entered the inventory: inventory.json can be edited by hand, and a hostile value must
// be refused BEFORE a single output file is written (the writer in nix-expr.ts escapes anyway;
// this is the second wall, and the one that keeps Caddyfiles and nix.conf lists intact too).
import { isIP } from 'node:net';
import type { InventoryData, NodeRecord, SigningKeyRecord, SigningKeyState } from '../inventory/model.js';
import { isValidDnsName, isValidNodeName } from '../inventory/names.js';
import { formatPublicKey, isValidKeyName, parsePublicKey, type PublicKey } from '../signing/keys.js';
import { NixosError } from './errors.js';

const STATES: readonly SigningKeyState[] = ['next', 'active', 'retiring', 'retired', 'revoked'];

/**
 * A runtime path on a node (agenix /run/agenix/…, sops /run/secrets/…): absolute, plain file-name
 * characters only. It is written into systemd LoadCredential=ID:PATH and Harmonia's
 * space-separated SIGN_KEY_PATHS, where ':' or whitespace would change the meaning.
 */
const RUNTIME_PATH = /^(?:\/[A-Za-z0-9._@+-]+)+$/;

const q = JSON.stringify;

export function checkNodeName(name: unknown): string {
  if (typeof name !== 'string' || !isValidNodeName(name)) {
    throw new NixosError('NIXOS_NAME_INVALID', `node name ${q(name)} is not one lowercase DNS label; refusing to emit`);
  }
  return name;
}

export function checkDnsName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !isValidDnsName(name)) {
    throw new NixosError('NIXOS_NAME_INVALID', `${what} ${q(name)} is not a valid DNS host name; refusing to emit`);
  }
  return name;
}

/**
 * A path read at runtime on the target machine. Never inside the Nix store: everything there is
 * world-readable, and a secret must not be (nix-notes §2.6).
 */
export function checkRuntimePath(p: unknown, what: string): string {
  if (typeof p !== 'string' || !RUNTIME_PATH.test(p) || p.split('/').some((s) => s === '.' || s === '..')) {
    throw new NixosError('NIXOS_PATH_INVALID', `${what} ${q(p)} must be an absolute path of plain file-name characters (a-z A-Z 0-9 . _ @ + -)`);
  }
  if (p === '/nix' || p.startsWith('/nix/')) {
    throw new NixosError('NIXOS_PATH_INVALID', `${what} ${p} is inside /nix: the Nix store is world-readable, so a secret must live outside it (e.g. /run/agenix or /run/secrets)`);
  }
  return p;
}

/**
 * The ACME directory URL (RFC 8555 §7.1.1), written unquoted into a Caddyfile: HTTPS only
 * (RFC 8555 §6.1), canonical, and nothing but host, port and a plain path.
 */
export function checkAcmeDirectoryUrl(s: unknown): string {
  const bad = (why: string) => new NixosError('NIXOS_URL_INVALID', `ACME directory URL ${q(s)} ${why}`);
  if (typeof s !== 'string') throw bad('is not a string');
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw bad('is not a URL');
  }
  if (u.protocol !== 'https:') throw bad('must use https (RFC 8555 §6.1)');
  if (u.username || u.password) throw bad('must not carry credentials');
  if (u.search || u.hash) throw bad('must not have a query or fragment');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  // localhost: the development issuer's own URL (`nixca serve --dev`, https://localhost:8443/directory).
  if (host !== 'localhost' && !isValidDnsName(host) && isIP(host) === 0) throw bad('must name a valid DNS host, localhost, or an IP address');
  if (!/^[A-Za-z0-9._~/%-]*$/.test(u.pathname)) throw bad('has characters outside a plain path');
  if (u.href !== s) throw bad(`is not in canonical form (did you mean ${u.href}?)`);
  return s;
}

/**
 * A substituter URL as trust.nix lists it: nix.conf splits `substituters` on whitespace, so the
 * URL must be exactly `https://<host name>?priority=<n>` and nothing else.
 */
export function checkSubstituterUrl(url: string): string {
  const m = /^https:\/\/([^/?#\s]+)\?priority=(\d{1,5})$/.exec(url);
  if (!m || !isValidDnsName(m[1]!)) throw new NixosError('NIXOS_URL_INVALID', `substituter URL ${q(url)} is not https://<host>?priority=<n>`);
  return url;
}

function checkKey(k: SigningKeyRecord, nodes: ReadonlySet<string>, i: number): SigningKeyRecord {
  const at = `signing key #${i + 1}`;
  if (!k || typeof k !== 'object') throw new NixosError('NIXOS_INVENTORY_INVALID', `${at} is not an object`);
  // The same name rule as `nixca key generate/import` (src/signing/keys.ts): names also become file names.
  if (typeof k.name !== 'string' || !isValidKeyName(k.name)) {
    throw new NixosError('NIXOS_KEY_INVALID', `${at}: key name ${q(k.name)} must be letters, digits, '.', '_' or '-'`);
  }
  if (!STATES.includes(k.state)) throw new NixosError('NIXOS_KEY_INVALID', `key ${k.name}: unknown state ${q(k.state)}`);
  let pub: PublicKey | null = null;
  try {
    if (typeof k.publicKey === 'string') pub = parsePublicKey(k.publicKey);
  } catch {
    // reported below, without the parser's message
  }
  // Canonical only (no surrounding whitespace): it is written as is into trusted-public-keys.
  if (!pub || formatPublicKey(pub) !== k.publicKey) {
    // Deliberately not echoing the value: a secret key pasted into the wrong field must not be printed.
    throw new NixosError('NIXOS_KEY_INVALID', `key ${k.name}: publicKey is not "name:base64(32 bytes)" (a secret key or other text in that field is refused, not printed)`);
  }
  if (pub.name !== k.name) throw new NixosError('NIXOS_KEY_INVALID', `key ${k.name}: publicKey is named ${q(pub.name)}, not ${q(k.name)}`);
  if (k.node !== null && !nodes.has(k.node)) {
    throw new NixosError('NIXOS_INVENTORY_INVALID', `key ${k.name} belongs to node ${q(k.node)}, which is not in the inventory`);
  }
  if (k.secretKeyPath !== null && k.secretKeyPath !== undefined) checkRuntimePath(k.secretKeyPath, `key ${k.name}: secretKeyPath`);
  return k;
}

function checkNode(n: NodeRecord): NodeRecord {
  if (!n || typeof n !== 'object') throw new NixosError('NIXOS_INVENTORY_INVALID', 'a node record is not an object');
  checkNodeName(n.name);
  if (!Array.isArray(n.dnsNames) || !Array.isArray(n.dnsSuffixes)) {
    throw new NixosError('NIXOS_INVENTORY_INVALID', `node ${n.name}: dnsNames and dnsSuffixes must be lists`);
  }
  n.dnsNames.forEach((d) => checkDnsName(d, `node ${n.name}: DNS name`));
  n.dnsSuffixes.forEach((d) => checkDnsName(d, `node ${n.name}: DNS suffix`));
  if (!Number.isInteger(n.priority) || n.priority < 0 || n.priority > 10000) {
    throw new NixosError('NIXOS_INVENTORY_INVALID', `node ${n.name}: priority ${q(n.priority)} must be an integer from 0 to 10000`);
  }
  return n;
}

/** Checks every value of the inventory the emitter uses; throws on the first bad one. */
export function checkInventoryForEmit(data: InventoryData): void {
  const names = new Set<string>();
  const dns = new Set<string>();
  for (const n of data.nodes) {
    checkNode(n);
    if (names.has(n.name)) throw new NixosError('NIXOS_INVENTORY_INVALID', `node ${n.name} appears twice`);
    names.add(n.name);
    for (const d of n.dnsNames) {
      if (dns.has(d)) throw new NixosError('NIXOS_INVENTORY_INVALID', `DNS name ${d} belongs to two nodes`);
      dns.add(d);
    }
  }
  const keyNames = new Set<string>();
  data.signingKeys.forEach((k, i) => {
    checkKey(k, names, i);
    // Nix keeps one key per name (nix-notes §1.5): two keys with one name would silently break one.
    if (keyNames.has(k.name)) throw new NixosError('NIXOS_KEY_INVALID', `two signing keys are named ${k.name}`);
    keyNames.add(k.name);
  });
}
