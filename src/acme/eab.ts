// External Account Binding (RFC 8555 §7.3.4): the inner JWS is MACed with the node's EAB key from
// the inventory, which binds the new ACME account to that node.
import { base64url, flattenedVerify, type JWK } from 'jose';
import { nodeByEabKeyId } from '../inventory/inventory.js';
import type { InventoryData, NodeRecord } from '../inventory/model.js';
import { parseFlattenedJws, publicJwk, thumbprintOf } from './jws.js';
import { parseUntrustedJson } from './json.js';
import { problem } from './problems.js';

const MAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

export interface VerifiedEab {
  node: NodeRecord;
  keyId: string;
  jws: { protected: string; payload: string; signature: string };
}

/**
 * Checks the externalAccountBinding of a newAccount request: alg is a MAC, kid names a node's EAB
 * key, no nonce, url equals the outer url, payload is the account's JWK, and the MAC verifies.
 * Every failure is unauthorized (except structural ones, malformed): the EAB key never leaves here.
 */
export async function verifyEab(eab: unknown, opts: { outerUrl: string; accountJwk: JWK; inventory: InventoryData }): Promise<VerifiedEab> {
  const { jws, header } = parseFlattenedJws(eab, { macAllowed: true });
  if (typeof header.alg !== 'string' || !MAC_ALGORITHMS.includes(header.alg)) {
    throw problem('malformed', `the externalAccountBinding must use a MAC algorithm (${MAC_ALGORITHMS.join(', ')}), RFC 8555 §7.3.4`);
  }
  if ('nonce' in header) throw problem('malformed', 'the externalAccountBinding JWS must not carry a "nonce" (RFC 8555 §7.3.4)');
  if ('jwk' in header) throw problem('malformed', 'the externalAccountBinding JWS must identify its key with "kid"');
  if (header.url !== opts.outerUrl) throw problem('unauthorized', 'the externalAccountBinding "url" must equal the newAccount URL (RFC 8555 §7.3.4)');
  if (typeof header.kid !== 'string' || !header.kid) throw problem('malformed', 'the externalAccountBinding has no "kid"');
  const node = nodeByEabKeyId(opts.inventory, header.kid);
  if (!node?.eab) throw problem('unauthorized', 'unknown External Account Binding key id (was the credential rotated?)');
  let payload: Uint8Array;
  try {
    ({ payload } = await flattenedVerify(jws, base64url.decode(node.eab.macKey), { algorithms: [header.alg] }));
  } catch {
    throw problem('unauthorized', 'the externalAccountBinding MAC does not verify with that key id');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    throw problem('malformed', 'the externalAccountBinding payload must be the account JWK (UTF-8 JSON)');
  }
  const bound = parseUntrustedJson(text, 'the externalAccountBinding payload');
  if ((await thumbprintOf(publicJwk(bound))) !== (await thumbprintOf(opts.accountJwk))) {
    throw problem('unauthorized', 'the externalAccountBinding payload is not the key of the account being created');
  }
  return { node, keyId: header.kid, jws: { protected: jws.protected!, payload: jws.payload, signature: jws.signature } };
}
