// Operations on the inventory document. Pure: they validate, mutate the data they are given, or
// throw InventoryError before changing anything. Persistence (locking, atomic writes) is src/store's.
import { randomBytes } from 'node:crypto';
import { InventoryError } from './errors.js';
import { DEFAULT_PRIORITY, type EabCredential, type InventoryData, type NodeRecord } from './model.js';
import { isUnderSuffix, isValidDnsName, isValidNodeName, normalizeDnsName } from './names.js';
import { didYouMean } from './suggest.js';

export interface NewNode {
  name: string;
  dnsNames?: readonly string[];
  dnsSuffixes?: readonly string[];
  site?: string | null;
  priority?: number;
}

function checkedNames(names: readonly string[] | undefined, what: string): string[] {
  const out = [...new Set((names ?? []).map(normalizeDnsName))];
  for (const n of out) {
    if (!isValidDnsName(n)) throw new InventoryError('INVENTORY_NAME_INVALID', `${what} ${JSON.stringify(n)} is not a valid DNS host name`);
  }
  return out.sort();
}

export function findNode(data: InventoryData, name: string): NodeRecord | undefined {
  return data.nodes.find((n) => n.name === name);
}

export function getNode(data: InventoryData, name: string): NodeRecord {
  const node = findNode(data, name);
  if (!node) {
    const hint = didYouMean(name, data.nodes.map((n) => n.name));
    throw new InventoryError('INVENTORY_NODE_UNKNOWN', `no node named ${JSON.stringify(name)} in the inventory${hint || ' (nixca node list shows them)'}`);
  }
  return node;
}

/** The node that owns a DNS name: an exact name first, else the longest matching suffix. */
export function ownerOf(data: InventoryData, dnsName: string): NodeRecord | undefined {
  const name = normalizeDnsName(dnsName);
  const exact = data.nodes.find((n) => n.dnsNames.includes(name));
  if (exact) return exact;
  let best: { node: NodeRecord; len: number } | undefined;
  for (const node of data.nodes) {
    for (const s of node.dnsSuffixes) {
      if (isUnderSuffix(name, s) && (!best || s.length > best.len)) best = { node, len: s.length };
    }
  }
  return best?.node;
}

/** True when `node` may hold a certificate for `dnsName` (exact name or under one of its suffixes). */
export function nodeOwns(node: NodeRecord, dnsName: string): boolean {
  const name = normalizeDnsName(dnsName);
  return node.dnsNames.includes(name) || node.dnsSuffixes.some((s) => isUnderSuffix(name, s));
}

export function addNode(data: InventoryData, input: NewNode, now: Date): NodeRecord {
  if (!isValidNodeName(input.name)) {
    throw new InventoryError('INVENTORY_NAME_INVALID', `node name ${JSON.stringify(input.name)} must be one lowercase DNS label (a-z, 0-9, '-')`);
  }
  if (findNode(data, input.name)) throw new InventoryError('INVENTORY_NODE_EXISTS', `node ${input.name} already exists`);
  const dnsNames = checkedNames(input.dnsNames, 'DNS name');
  const dnsSuffixes = checkedNames(input.dnsSuffixes, 'DNS suffix');
  if (dnsNames.length + dnsSuffixes.length === 0) {
    throw new InventoryError('INVENTORY_NAME_INVALID', `node ${input.name} needs at least one --dns name or --dns-suffix`);
  }
  for (const n of dnsNames) {
    const owner = data.nodes.find((o) => o.dnsNames.includes(n));
    if (owner) throw new InventoryError('INVENTORY_NAME_OWNED', `${n} already belongs to node ${owner.name}`);
  }
  for (const s of dnsSuffixes) {
    const owner = data.nodes.find((o) => o.dnsSuffixes.includes(s));
    if (owner) throw new InventoryError('INVENTORY_NAME_OWNED', `suffix ${s} already belongs to node ${owner.name}`);
  }
  const priority = input.priority ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 0 || priority > 10000) {
    throw new InventoryError('INVENTORY_NAME_INVALID', `priority must be an integer from 0 to 10000`);
  }
  const site = input.site ?? null;
  if (site !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(site)) {
    throw new InventoryError('INVENTORY_NAME_INVALID', `site ${JSON.stringify(site)} must be letters, digits, '.', '_' or '-'`);
  }
  const node: NodeRecord = {
    name: input.name,
    id: 'node-' + randomBytes(12).toString('base64url'),
    dnsNames,
    dnsSuffixes,
    site,
    priority,
    createdAt: now.toISOString(),
    eab: null,
    renewAfter: null,
  };
  data.nodes.push(node);
  data.nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return node;
}

export function removeNode(data: InventoryData, name: string): NodeRecord {
  const node = getNode(data, name);
  data.nodes = data.nodes.filter((n) => n !== node);
  return node;
}

/** A fresh EAB credential: a random key id and a 256-bit HMAC key (RFC 8555 §7.3.4, HS256). */
function newEabCredential(now: Date): EabCredential {
  return {
    keyId: 'eab-' + randomBytes(12).toString('base64url'),
    macKey: randomBytes(32).toString('base64url'),
    createdAt: now.toISOString(),
  };
}

/** Returns the node's EAB credential, creating it on first use or replacing it when `rotate`. */
export function ensureEab(data: InventoryData, nodeName: string, now: Date, rotate = false): { node: NodeRecord; created: boolean } {
  const node = getNode(data, nodeName);
  if (node.eab && !rotate) return { node, created: false };
  node.eab = newEabCredential(now);
  return { node, created: true };
}

export function nodeByEabKeyId(data: InventoryData, keyId: string): NodeRecord | undefined {
  return data.nodes.find((n) => n.eab?.keyId === keyId);
}
