// The ACME objects as the core stores them (RFC 8555 §7.1). Plain JSON data. Statuses that can be
// derived are derived (status.ts) rather than stored, so they can never disagree with the facts.
import type { JWK } from 'jose';
import type { ChallengeType } from './challenges.js';
import type { ProblemDocument } from './problems.js';

export type AccountStatus = 'valid' | 'deactivated' | 'revoked';
export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

export interface Identifier {
  type: 'dns';
  value: string;
}

export interface AccountRecord {
  id: string;
  status: AccountStatus;
  /** The account's public key (RFC 7517), as sent by the client, private members stripped. */
  jwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of `jwk`: the index for "is this key in use" (§7.3.1, §7.3.5). */
  thumbprint: string;
  contact: string[];
  /** The inventory node this account is bound to through EAB (§7.3.4), or null without EAB. */
  node: string | null;
  /**
   * The identity (NodeRecord.id) of the node at binding time: the account works only while a node
   * with this identity is in the inventory. Absent on accounts made before node identities.
   */
  nodeId?: string;
  /** The EAB key id used at creation, echoed as `externalAccountBinding` evidence. */
  eabKeyId: string | null;
  /** The protected header + payload of the EAB JWS as received (no MAC key); echoed in the account object. */
  externalAccountBinding: { protected: string; payload: string; signature: string } | null;
  createdAt: string;
  updatedAt: string;
}

export interface ChallengeRecord {
  id: string;
  type: ChallengeType;
  token: string;
  status: ChallengeStatus;
  /** RFC 8555 §8: REQUIRED when valid. */
  validated?: string;
  /** RFC 8555 §8: a challenge with an error MUST be invalid. */
  error?: ProblemDocument;
  /** When it became `processing` (ISO 8601): whether the instance validating it may be gone. */
  processingSince?: string;
}

export interface AuthorizationRecord {
  id: string;
  accountId: string;
  identifier: Identifier;
  /** Deadline for completing the challenge while pending; the validity end once valid (§7.1.4). */
  expires: string;
  /** Set by the client (§7.5.2); the other statuses are derived from the challenges. */
  deactivated?: boolean;
  /** Set by the server when a certificate for it was revoked for keyCompromise (§7.1.6 "revoked"). */
  revoked?: boolean;
  challenges: ChallengeRecord[];
  createdAt: string;
}

export interface OrderRecord {
  id: string;
  accountId: string;
  identifiers: Identifier[];
  authorizationIds: string[];
  /** As requested and accepted (§7.4); absent when the client did not ask. */
  notBefore?: string;
  notAfter?: string;
  expires: string;
  /** A fatal error (§7.1.3): the order is invalid. */
  error?: ProblemDocument;
  /** Serial (hex) of the issued certificate; its presence makes the order valid. */
  certificateSerial?: string;
  /** RFC 9773 §5: the certificate this order replaces, as sent. */
  replaces?: string;
  /** The canonical serial `replaces` names (checked at newOrder): the store indexes it (alreadyReplaced). */
  replacesSerial?: string;
  createdAt: string;
}

export interface CertificateRecord {
  /** Lowercase hex, canonical (src/ca/serial.ts normalizeSerial). */
  serial: string;
  accountId: string;
  /** The node the names belong to (the account's node, or the inventory owner without EAB). */
  node: string | null;
  names: string[];
  notBefore: string;
  notAfter: string;
  orderId: string;
  issuedAt: string;
  /** SHA-256 of the leaf's SubjectPublicKeyInfo (hex): revocation by certificate key (§7.6). */
  spkiSha256: string;
  /** RFC 9773 §4.1 certID material: the AKI keyIdentifier (hex) of the issuer. */
  akiKeyId?: string;
  /** RFC 9773 §5: serial of the certificate this one replaced (its order's `replaces`). */
  replaces?: string;
}

export interface RevocationRecord {
  serial: string;
  /** RFC 5280 §5.3.1 CRLReason code. */
  reason: number;
  revokedAt: string;
  /** 'account:<id>' or 'certificate-key' or 'operator' (the revoke command). */
  by: string;
}
