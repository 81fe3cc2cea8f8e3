// Issuance policy: which names an account may order (docs/acme.md "Policy"). A node-bound account
// (EAB) may order only the names the inventory gives its node; an unbound account (eab optional)
// any name in the inventory, on challenge proof alone. Wildcards and IPs are never issued.
import { domainToASCII, domainToUnicode } from 'node:url';
import { nodeOwns, ownerOf } from '../inventory/inventory.js';
import type { InventoryData, NodeRecord } from '../inventory/model.js';
import { isValidDnsName } from '../inventory/names.js';
import { isObject } from './context.js';
import type { AccountRecord, Identifier } from './model.js';
import { show } from './json.js';
import { problem, problemDocument, type ProblemDocument } from './problems.js';

/** One order names at most this many identifiers (a fleet node has a handful). */
export const MAX_IDENTIFIERS = 100;

export interface PolicyDecision {
  identifiers: Identifier[];
  /** The node that owns every name. */
  node: NodeRecord;
}

/**
 * Parses newOrder identifiers (§7.4): a non-empty array of {type, value}, kept exactly as sent
 * (the order shows what was requested, never a normalised form); an identifier listed twice is
 * malformed.
 */
export function parseIdentifiers(input: unknown, max: number = MAX_IDENTIFIERS): Array<{ type: string; value: string }> {
  if (!Array.isArray(input) || input.length === 0) throw problem('malformed', '"identifiers" must be a non-empty array');
  if (input.length > max) throw problem('rejectedIdentifier', `an order may name at most ${max} identifiers`);
  const seen = new Set<string>();
  const out: Array<{ type: string; value: string }> = [];
  for (const id of input) {
    if (!isObject(id) || typeof id.type !== 'string' || typeof id.value !== 'string') {
      throw problem('malformed', 'each identifier must be an object with string "type" and "value"');
    }
    const key = `${id.type}:${id.value}`;
    if (seen.has(key)) throw problem('malformed', `identifier ${show(id.value)} is listed twice`);
    seen.add(key);
    out.push({ type: id.type, value: id.value });
  }
  return out;
}

/**
 * Why a dns identifier is not in preferred name syntax (RFC 8555 §7.1.4 → RFC 5280 §4.2.1.6 →
 * RFC 1034 §3.5, lower case as certificates carry it): said precisely, since the value is refused,
 * not repaired.
 */
function syntaxFault(value: string): string {
  const why =
    value !== value.trim() ? 'has leading or trailing white space'
    : value.endsWith('.') ? 'ends with a dot (send the name without the root label)'
    : value !== value.toLowerCase() ? 'has upper-case letters (send it in lower case)'
    : [...value].every((c) => c.charCodeAt(0) < 0x80) ? 'has an empty, over-long or non-LDH label, or is a single label'
    : 'is not ASCII (send the A-label, xn--…)';
  return `is not a DNS name in preferred name syntax (RFC 5280 §4.2.1.6): it ${why}`;
}

/**
 * §7.1.4: "Servers MUST verify any identifier values that begin with the ASCII-Compatible Encoding
 * prefix "xn--" as defined in [RFC5890] are properly encoded": every xn-- label must decode
 * (Punycode, IDNA) and encode back to exactly itself. Returns the first label that does not.
 */
function badALabel(value: string): string | undefined {
  return value.split('.').find((label) => {
    if (!label.startsWith('xn--')) return false;
    const u = domainToUnicode(label);
    return !u || u === label || domainToASCII(u) !== label;
  });
}

/**
 * Decides an order's identifiers for an account. Every refused identifier becomes a subproblem
 * carrying it (§6.7.1); the top-level type is rejectedIdentifier (or unsupportedIdentifier when
 * that is all there is), since clients act on the top-level type.
 */
export function decideIdentifiers(input: unknown, account: AccountRecord, inventory: InventoryData, eabRequired: boolean, maxIdentifiers: number = MAX_IDENTIFIERS): PolicyDecision {
  const ids = parseIdentifiers(input, maxIdentifiers);
  const sub: ProblemDocument[] = [];
  const accepted: Identifier[] = [];
  let unsupported = 0;
  const bound = account.node === null ? undefined : inventory.nodes.find((n) => n.name === account.node);
  if (account.node !== null && !bound) {
    throw problem('unauthorized', `this account is bound to node ${account.node}, which is no longer in the inventory`);
  }
  if (account.node === null && eabRequired) {
    throw problem('externalAccountRequired', 'this server requires External Account Binding; this account has none');
  }
  let owner: NodeRecord | undefined = bound;
  for (const id of ids) {
    const identifier = { type: id.type, value: id.value };
    const reject = (detail: string) => sub.push(problemDocument('rejectedIdentifier', detail, identifier));
    if (id.type === 'ip') {
      reject(`${show(id.value)}: IP address identifiers are not issued`);
      continue;
    }
    if (id.type !== 'dns') {
      unsupported++;
      sub.push(problemDocument('unsupportedIdentifier', `identifier type ${show(id.type)} is not supported (dns only)`, identifier));
      continue;
    }
    if (id.value.startsWith('*.')) {
      reject(`${show(id.value)}: wildcard names are not issued`);
      continue;
    }
    if (!isValidDnsName(id.value)) {
      reject(`${show(id.value)} ${syntaxFault(id.value)}`);
      continue;
    }
    const aLabel = badALabel(id.value);
    if (aLabel !== undefined) {
      reject(`${id.value}: the label ${aLabel} starts with xn-- but is not a properly encoded A-label (RFC 5890)`);
      continue;
    }
    if (bound) {
      if (!nodeOwns(bound, id.value)) {
        const other = ownerOf(inventory, id.value);
        reject(`${id.value} is not a name of node ${bound.name}${other ? '' : ' (it is not in the inventory)'}`);
        continue;
      }
    } else {
      const o = ownerOf(inventory, id.value);
      if (!o) {
        reject(`${id.value} is not in the fleet inventory`);
        continue;
      }
      // One certificate belongs to one node (its record, renewal and revocation are per node).
      if (owner && owner.name !== o.name) {
        reject(`${id.value} belongs to node ${o.name}, but this order's other names belong to ${owner.name}: order them separately`);
        continue;
      }
      owner = o;
    }
    accepted.push({ type: 'dns', value: id.value });
  }
  if (sub.length) {
    const type = unsupported === sub.length ? 'unsupportedIdentifier' : 'rejectedIdentifier';
    const detail = sub.length === 1 ? sub[0]!.detail : `${sub.length} identifiers were refused by policy; see subproblems`;
    throw problem(type, detail, { subproblems: sub });
  }
  return { identifiers: accepted, node: owner! };
}
