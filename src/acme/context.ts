// What every ACME operation needs, assembled once by the HTTP app from AcmeDeps.
import { randomBytes } from 'node:crypto';
import type { InventoryData } from '../inventory/model.js';
import type { ChallengeValidator } from './challenges.js';
import type { LeafLifetimePolicy, LeafSigner } from './orders.js';
import type { AcmeStore } from './store.js';

export interface CoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
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
  /** Validations running in this process, by challenge id. */
  validations: Map<string, Promise<void>>;
  /** Aborted when the app closes: running validations stop. */
  closing: AbortController;
  log: CoreLogger;
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
