// The audit log's vocabulary: where its files live, what events it records, how an entry line is
// parsed and shown. Pure functions and constants only; appending lives in log.ts, the signing key
// in key.ts.
import { createHash, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { canonicalJson, entryHash, isChainEntry, type ChainEntry } from '../ca/chainlog.js';
import { spkiOf } from '../ca/keys.js';
import { crypto } from '../ca/x509.js';
import { AuditError } from './errors.js';

export const AUDIT_DIR = 'audit';
export const AUDIT_LOG_FILE = 'log.jsonl';
export const AUDIT_KEY_FILE = 'signing-key.pem';
export const AUDIT_CERT_FILE = 'signing-cert.pem';
/** The newest entry (seq, hash) as of the last append: `audit verify` notices entries cut off the end. */
export const AUDIT_HEAD_FILE = 'head.json';

/** What can happen in the fleet that the log records (dot-separated: area.action). */
export const AUDIT_EVENT_TYPES = [
  'audit.init',
  'audit.repaired',
  'audit.certified',
  'audit.recovered',
  'certificate.issued',
  'certificate.revoked',
  'node.added',
  'node.updated',
  'node.removed',
  'node.eab-created',
  'node.eab-rotated',
  'node.renew-now',
  'account.deactivated',
  'signing-key.transition',
  'issuer.installed',
  'operator.certificate-issued',
  'dashboard.viewed',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEvent {
  type: AuditEventType;
  /** What the event is about: a node name, a certificate serial, a signing-key name. */
  subject: string;
  /** The inventory node concerned, for `audit show --node` (null: fleet-wide). */
  node?: string | null;
  /** Facts without secrets: names, serials, fingerprints, reasons. */
  details?: Record<string, unknown>;
  time?: Date;
}

/** One entry as `audit show` presents it. */
export interface AuditRecord {
  seq: number;
  time: string;
  type: string;
  subject: string;
  node: string | null;
  details: Record<string, unknown>;
  /** SHA-256 of the entry's canonical bytes (what the next entry's `prev` is). */
  hash: string;
}

export function auditPaths(stateDir: string) {
  const dir = join(stateDir, AUDIT_DIR);
  return { dir, log: join(dir, AUDIT_LOG_FILE), key: join(dir, AUDIT_KEY_FILE), cert: join(dir, AUDIT_CERT_FILE), lock: join(dir, AUDIT_LOG_FILE + '.lock'), head: join(dir, AUDIT_HEAD_FILE) };
}

// Field names whose values are secrets wherever they appear (EAB MAC keys, private keys, passphrases).
const SECRET_FIELD = /^(mac|mackey|hmac|hmackey|secret|secretkey|privatekey|private|passphrase|password|token)$/i;

/** Refuses details that carry a secret: the log is for facts that may be shown to anyone auditing. */
export function assertNoSecrets(value: unknown, path = 'details'): void {
  if (typeof value === 'string') {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) throw new AuditError('AUDIT_SECRET_REFUSED', `${path} holds a private key; the audit log never stores secrets`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((v, i) => assertNoSecrets(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_FIELD.test(k) && v !== null && v !== undefined && v !== '') {
        throw new AuditError('AUDIT_SECRET_REFUSED', `${path}.${k} looks like a secret; the audit log never stores secrets`);
      }
      assertNoSecrets(v, `${path}.${k}`);
    }
  }
}

export function toRecord(e: ChainEntry): AuditRecord {
  const d = e.data as { subject?: unknown; node?: unknown; details?: unknown };
  return {
    seq: e.seq,
    time: e.time,
    type: e.event,
    subject: typeof d.subject === 'string' ? d.subject : '',
    node: typeof d.node === 'string' ? d.node : null,
    details: d.details && typeof d.details === 'object' && !Array.isArray(d.details) ? (d.details as Record<string, unknown>) : {},
    hash: entryHash(e),
  };
}

export function parseEntryLine(line: string): ChainEntry | null {
  try {
    const v: unknown = JSON.parse(line);
    return isChainEntry(v) ? v : null;
  } catch {
    return null;
  }
}

/** Splits a log file into its complete lines (each ends with '\n') and a torn tail (no '\n'), if any. */
export function splitTornTail(text: string): { complete: string; torn: string } {
  const cut = text.lastIndexOf('\n') + 1;
  return { complete: text.slice(0, cut), torn: text.slice(cut) };
}

/** SHA-256 (hex) of a public key's SPKI DER: how the log names its signing key. */
export async function keyIdOf(publicKey: CryptoKey): Promise<string> {
  return createHash('sha256').update(await spkiOf(publicKey)).digest('hex');
}

export async function importSpkiP256(spkiB64: string): Promise<CryptoKey> {
  try {
    const der = createPublicKey({ key: Buffer.from(spkiB64, 'base64'), format: 'der', type: 'spki' }).export({ format: 'der', type: 'spki' });
    return await crypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyImportParams, true, ['verify']);
  } catch (err) {
    throw new AuditError('AUDIT_KEY_INVALID', `not an ECDSA P-256 public key: ${(err as Error).message}`, { cause: err });
  }
}

/** The details of a chain's audit.init entry: the key that signs it (SHA-256 of its SPKI, and the SPKI). */
export async function auditInitDetails(publicKey: CryptoKey): Promise<{ keyId: string; publicKey: string; algorithm: 'ECDSA-P256-SHA256' }> {
  const spki = await spkiOf(publicKey);
  return { keyId: createHash('sha256').update(spki).digest('hex'), publicKey: spki.toString('base64'), algorithm: 'ECDSA-P256-SHA256' };
}

/** Refuses an event the log must not record: unknown type, no subject, secrets, non-JSON details. */
export function checkEvent(e: AuditEvent): void {
  if (!(AUDIT_EVENT_TYPES as readonly string[]).includes(e.type)) throw new AuditError('AUDIT_EVENT_INVALID', `unknown audit event type ${JSON.stringify(e.type)}`);
  if (typeof e.subject !== 'string' || !e.subject) throw new AuditError('AUDIT_EVENT_INVALID', 'an audit event needs a subject');
  assertNoSecrets(e.details ?? {});
  // canonicalJson refuses values JSON cannot carry faithfully (functions, non-finite numbers).
  try {
    canonicalJson(e.details ?? {});
  } catch (err) {
    throw new AuditError('AUDIT_EVENT_INVALID', `audit details are not plain JSON: ${(err as Error).message}`, { cause: err });
  }
}
