// buildAcmeApp: the ACME server as a fastify instance that never listens (cli/serve.ts listens;
// tests use inject). All wiring arrives in AcmeDeps (every I/O seam is a parameter).
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { createAcmeServer } from './server.js';
export { AcmeSetupError, publishCrlNow } from './server.js';
import type { ChallengeValidator } from '../challenges.js';
import type { LeafLifetimePolicy, LeafSigner } from '../orders.js';
import type { AcmeStore } from '../store.js';
import type { AcmeEvents, AuditTrail } from '../context.js';
import type { CrlOptions } from '../crl.js';
import type { AcmeLimits } from '../limits.js';
import type { IntermediateInfo } from './metrics.js';
import type { InventoryData } from '../../inventory/model.js';
import type { NoncePeers } from '../nonces.js';

export interface NonceOptions {
  /** How long an unused nonce stays redeemable (default 15 minutes). */
  lifetimeMs?: number;
  /** Bound on outstanding nonces; the oldest are forgotten first (default 100,000). */
  max?: number;
  /** Pebble's trick: reject this fraction (0..1) of valid nonces so clients prove they retry badNonce. */
  rejectRate?: number;
  /** Randomness for rejectRate (tests make it deterministic); default Math.random. */
  random?: () => number;
}

export interface AcmeDeps {
  /** External base URL (e.g. https://acme.example:8443/acme/): all links, and the JWS `url` check (§6.4). */
  baseUrl: string | URL;
  store: AcmeStore;
  inventory: { read(): Promise<InventoryData> };
  signer: LeafSigner;
  validator: ChallengeValidator;
  /** RFC 8555 §7.3.4: require External Account Binding (default true). */
  eabRequired?: boolean;
  leafLifetime?: Partial<LeafLifetimePolicy>;
  clock?: () => Date;
  /** fastify/pino logger options; false (default) for silence. Secrets are never logged. */
  logger?: FastifyServerOptions['logger'];
  nonces?: NonceOptions;
  /**
   * Several instances behind one name: nonces that name this instance as their home, MACed with
   * the shared key; another instance's nonce is redeemed by asking it (src/acme/nonces.ts
   * HomeNonces). Absent: nonces in this process's memory only.
   */
  noncePeers?: NoncePeers;
  /** Per-validation timeout (default 30 s). */
  validationTimeoutMs?: number;
  /**
   * How long a challenge response (POST {}) waits for its validation before answering (default 0:
   * answer `processing` at once). The validation stays asynchronous with its own timeout; waiting
   * a little lets clients see `valid` in the response instead of polling after a Retry-After
   * (lego then waits 5 s). `nixca serve` uses 1 s.
   */
  challengeWaitMs?: number;
  /** Pending order/authorization lifetime (default 24 h). */
  orderLifetimeMs?: number;
  /** How long a valid authorization may be reused (default 24 h). */
  authorizationLifetimeMs?: number;
  /** How often expired orders/authorizations are pruned from the store (default 10 minutes). */
  pruneIntervalMs?: number;
  /** Hooks for metrics (best effort: a failing hook is logged). */
  events?: AcmeEvents;
  /**
   * The audit trail, written as part of every issuance and revocation: if it cannot be written the
   * request fails (serverInternal) and /health reports 503 until it can.
   */
  audit?: AuditTrail;
  /**
   * Serve the intermediate-signed CRL of revoked leaves at <base>crl (RFC 5280 §5), regenerated at
   * start, on every revocation and daily. Absent: no CRL (then leaves must carry no CDP either).
   */
  crl?: CrlOptions;
  /** The issuing intermediate's validity, for /health and the expiry gauge. */
  intermediate?: IntermediateInfo;
  /** Serve GET <base>metrics (Prometheus text, default true). /health is always served. */
  metrics?: boolean;
  /** Add prom-client's process metrics (CPU, memory, event loop) to /metrics (default false; serve: true). */
  processMetrics?: boolean;
  /** Resource limits (RFC 8555 §6.6); each unset one has its default (src/acme/limits.ts). */
  limits?: Partial<AcmeLimits>;
  /** Extra directory `meta` fields (termsOfService, website, …). */
  meta?: Record<string, unknown>;
}

export type { AcmeEvents, LeafLifetimePolicy };

export function buildAcmeApp(deps: AcmeDeps): FastifyInstance {
  return createAcmeServer(deps);
}
