// What every ACME operation needs, assembled once by the HTTP app from AcmeDeps.
import { randomBytes } from 'node:crypto';
import type { InventoryData } from '../inventory/model.js';
import type { ChallengeType, ChallengeValidator, ValidationProblemType } from './challenges.js';
import type { CertificateRecord, RevocationRecord } from './model.js';
import type { LeafLifetimePolicy, LeafSigner } from './orders.js';
import { problem } from './problems.js';
import type { AcmeStore } from './store.js';
import type { LimitState } from './limits.js';

export interface CoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * What happened, for metrics and the audit log. Hooks are awaited (an audit entry can be
 * written before the response); a hook that throws is logged and does not fail the request, since
 * what it reports is already committed.
 */
export interface AcmeEvents {
  certificateIssued?(cert: CertificateRecord): void | Promise<void>;
  certificateRevoked?(revocation: RevocationRecord, cert: CertificateRecord): void | Promise<void>;
  validationFinished?(e: { type: ChallengeType; identifier: string; valid: boolean; problem?: ValidationProblemType; ms: number }): void | Promise<void>;
  accountCreated?(e: { id: string; node: string | null }): void | Promise<void>;
  /** A renewalInfo answer for an issued certificate (RFC 9773 §4.2): which clients poll ARI. */
  renewalInfoFetched?(e: { serial: string; node: string | null; accountId: string; userAgent: string | null; at: Date }): void | Promise<void>;
}

/**
 * The issuer's audit trail (src/audit): an issuance or a revocation is done only once its entry is
 * written. The store calls these through its commit hook (src/acme/store.ts CommitHook), after the
 * record is durable and before anyone can see it; if they throw, the request fails.
 */
export interface AuditTrail {
  certificateIssued(cert: CertificateRecord): Promise<void>;
  certificateRevoked(revocation: RevocationRecord, cert: CertificateRecord): Promise<void>;
  /** For /health: resolves while entries can be appended, throws (with the reason) otherwise. */
  check(): Promise<void>;
  /**
   * Before a certificate is signed or a revocation recorded: writes the entries still waiting from
   * an earlier failed append and throws if they cannot be written, so that no further record is
   * made (and withheld) while the log refuses entries. Nothing waiting: resolves at once.
   */
  ready(): Promise<void>;
}

/**
 * AuditTrail.ready before a certificate is signed or a revocation recorded; a refusal becomes
 * serverInternal (RFC 8555 §6.7), with the cause in the issuer's log.
 */
export async function auditReady(ctx: AcmeContext, what: string): Promise<void> {
  try {
    await ctx.audit?.ready();
  } catch (err) {
    ctx.log.error({ err: (err as Error).message, what }, 'the audit log still refuses entries; nothing is signed or recorded');
    throw problem('serverInternal', `the ${what} cannot be recorded in the audit log now, so it was not done; the operator is alerted by /health`);
  }
}

/**
 * The store commit hook that writes the audit entry; a failure becomes serverInternal (RFC 8555
 * §6.7) for the client, with the cause in the issuer's log, not in the problem document.
 */
export function auditCommit(ctx: AcmeContext, what: string, write: (audit: AuditTrail) => Promise<void>): (() => Promise<void>) | undefined {
  const audit = ctx.audit;
  if (!audit) return undefined;
  return async () => {
    try {
      await write(audit);
    } catch (err) {
      ctx.log.error({ err: (err as Error).message, what }, 'the audit log refused an entry; the request fails');
      throw problem('serverInternal', `the ${what} could not be recorded in the audit log, so it was not done; the operator is alerted by /health`);
    }
  };
}

export async function emit<K extends keyof AcmeEvents>(ctx: AcmeContext, name: K, ...args: Parameters<NonNullable<AcmeEvents[K]>>): Promise<void> {
  const hook = ctx.events[name] as ((...a: unknown[]) => void | Promise<void>) | undefined;
  if (!hook) return;
  try {
    await hook.apply(ctx.events, args);
  } catch (err) {
    ctx.log.error({ event: name, err: (err as Error).message }, 'event hook failed');
  }
}

export interface AcmeContext {
  store: AcmeStore;
  inventory: { read(): Promise<InventoryData> };
  signer: LeafSigner;
  validator: ChallengeValidator;
  eabRequired: boolean;
  lifetime: LeafLifetimePolicy;
  now(): Date;
  orderLifetimeMs: number;
  authorizationLifetimeMs: number;
  validationTimeoutMs: number;
  /** Orders whose finalize is running in this process: shown as `processing` (§7.1.6). */
  finalizing: Set<string>;
  /** Serials a newOrder with `replaces` is creating an order for right now (RFC 9773 §5 races). */
  replacing: Set<string>;
  /** Validations running in this process, by challenge id. */
  validations: Map<string, Promise<void>>;
  /** Aborted when the app closes: running validations stop. */
  closing: AbortController;
  log: CoreLogger;
  events: AcmeEvents;
  /** Resource limits and their counters (RFC 8555 §6.6). */
  limits: LimitState;
  /** Written as part of every issuance and revocation (fail closed); absent: no audit log. */
  audit?: AuditTrail;
}

/** Object ids: 128 random bits, base64url (unguessable, so URLs leak nothing about other objects). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** §8.1, §11.3: tokens carry at least 128 bits of entropy; we use 256. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
