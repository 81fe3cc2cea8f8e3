// /health and /metrics. One prom-client Registry per app (never the global one), so
// tests and benchmarks can build several apps in one process. Counters are fed by the core's
// AcmeEvents and by the error handler; sizes are read from the store when scraped.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { AcmeContext, AcmeEvents } from '../context.js';
import type { CrlPublisher } from '../crl.js';
import { REVOCATION_REASONS } from '../revocation.js';
import type { AcmeStoreStats } from '../store.js';

export interface IntermediateInfo {
  notBefore: Date;
  notAfter: Date;
}

export interface Observability {
  /** Hooks to compose with the caller's (audit) hooks. */
  events: Required<Pick<AcmeEvents, 'certificateIssued' | 'certificateRevoked' | 'validationFinished' | 'accountCreated'>>;
  /** Called by the error handler for every problem document sent. */
  problem(type: string, endpoint: string): void;
  registry: Registry;
}

/** What /health reports (JSON): 200 when every check passes, else 503. */
export interface HealthReport {
  status: 'ok' | 'fail';
  checks: {
    store: { ok: boolean; detail?: string };
    /** Present when the issuer keeps an audit log: can entries be appended right now? */
    audit?: { ok: boolean; detail?: string };
    intermediate?: { ok: boolean; notBefore: string; notAfter: string; daysUntilExpiry: number };
    crl?: { ok: boolean; crlNumber: number | null; thisUpdate: string | null; nextUpdate: string | null };
  };
}

export function createObservability(ctx: AcmeContext, opts: { crl?: CrlPublisher; intermediate?: IntermediateInfo; defaultMetrics?: boolean }): Observability {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'nixca_' });
  const store = ctx.store;

  const issued = new Counter({ name: 'nixca_acme_certificates_issued_total', help: 'Certificates issued through ACME finalize.', registers: [registry] });
  const revoked = new Counter({ name: 'nixca_acme_certificates_revoked_total', help: 'Certificates revoked through ACME revokeCert, by RFC 5280 reason.', labelNames: ['reason'], registers: [registry] });
  const accounts = new Counter({ name: 'nixca_acme_accounts_created_total', help: 'ACME accounts created.', registers: [registry] });
  const problems = new Counter({
    name: 'nixca_acme_problems_total',
    help: 'Problem documents sent (RFC 8555 §6.7), by problem type and endpoint (route pattern).',
    labelNames: ['type', 'endpoint'],
    registers: [registry],
  });
  const validations = new Counter({
    name: 'nixca_acme_validations_total',
    help: 'Challenge validations finished, by challenge type and result ("valid" or the problem type).',
    labelNames: ['challenge', 'result'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'nixca_acme_validation_duration_seconds',
    help: 'Time from a challenge response to its validation result (all attempts).',
    labelNames: ['challenge'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'nixca_acme_validations_in_progress',
    help: 'Challenge validations running in this process.',
    registers: [registry],
    collect() {
      this.set(ctx.validations.size);
    },
  });
  new Gauge({
    name: 'nixca_acme_orders_in_flight',
    help: 'Orders neither valid nor invalid yet and not expired (pending, ready or processing).',
    registers: [registry],
    collect() {
      this.set(store.stats().ordersInFlight);
    },
  });
  const storeGauge = (name: string, help: string, pick: (s: AcmeStoreStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(store.stats()));
      },
    });
  storeGauge('nixca_store_accounts', 'ACME accounts in the store.', (s) => s.accounts);
  storeGauge('nixca_store_certificates', 'Certificates ever issued (the ledger keeps them all).', (s) => s.certificates);
  storeGauge('nixca_store_revocations', 'Revocations in the store.', (s) => s.revocations);
  storeGauge('nixca_store_working_orders', 'Orders in the working set (pruned some time after they expire).', (s) => s.orders);
  storeGauge('nixca_store_ledger_bytes', 'Size of acme/ledger.jsonl.', (s) => s.ledgerBytes);
  storeGauge('nixca_store_chain_bytes', 'Size of acme/chains.pem.', (s) => s.chainBytes);
  storeGauge('nixca_store_working_bytes', 'Size of acme/working.jsonl.', (s) => s.workingBytes);

  // Newest certificate per node: one ledger scan at the first scrape, then kept by the events.
  const newest = new Map<string, { issuedAt: number; notAfter: number }>();
  const note = (node: string | null, issuedAt: string, notAfter: string) => {
    if (node === null) return;
    const cur = newest.get(node);
    const t = Date.parse(issuedAt);
    if (!cur || t >= cur.issuedAt) newest.set(node, { issuedAt: t, notAfter: Date.parse(notAfter) / 1000 });
  };
  let scanned: Promise<void> | undefined;
  new Gauge({
    name: 'nixca_node_certificate_expiry_timestamp_seconds',
    help: "notAfter (Unix seconds) of each node's newest certificate; alert on time() - this > 0 or close to it.",
    labelNames: ['node'],
    registers: [registry],
    async collect() {
      scanned ??= store.listCertificates().then((all) => all.forEach((c) => note(c.node, c.issuedAt, c.notAfter)));
      await scanned;
      this.reset();
      for (const [node, v] of newest) this.set({ node }, v.notAfter);
    },
  });
  if (opts.intermediate) {
    const notAfter = opts.intermediate.notAfter.getTime() / 1000;
    new Gauge({ name: 'nixca_intermediate_expiry_timestamp_seconds', help: "The issuing intermediate's notAfter (Unix seconds).", registers: [registry] }).set(notAfter);
  }
  if (opts.crl) {
    const crl = opts.crl;
    new Gauge({
      name: 'nixca_crl_next_update_timestamp_seconds',
      help: 'nextUpdate (Unix seconds) of the CRL being served.',
      registers: [registry],
      collect() {
        const c = crl.current();
        if (c) this.set(c.nextUpdate.getTime() / 1000);
      },
    });
    new Gauge({
      name: 'nixca_crl_number',
      help: 'CRL number of the CRL being served (RFC 5280 §5.2.3).',
      registers: [registry],
      collect() {
        const c = crl.current();
        if (c) this.set(c.crlNumber);
      },
    });
  }

  return {
    registry,
    events: {
      certificateIssued(cert) {
        issued.inc();
        note(cert.node, cert.issuedAt, cert.notAfter);
      },
      certificateRevoked(rev) {
        revoked.inc({ reason: REVOCATION_REASONS[rev.reason] ?? String(rev.reason) });
      },
      validationFinished(e) {
        validations.inc({ challenge: e.type, result: e.valid ? 'valid' : (e.problem ?? 'unknown') });
        latency.observe({ challenge: e.type }, e.ms / 1000);
      },
      accountCreated() {
        accounts.inc();
      },
    },
    problem(type, endpoint) {
      problems.inc({ type, endpoint });
    },
  };
}

/** Calls every hook of `a`, then of `b` (metrics first: they cannot fail; the audit hook may). */
export function composeEvents(a: AcmeEvents, b: AcmeEvents | undefined): AcmeEvents {
  if (!b) return a;
  const names = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof AcmeEvents>);
  const out: AcmeEvents = {};
  for (const name of names) {
    const fa = a[name] as ((...x: unknown[]) => void | Promise<void>) | undefined;
    const fb = b[name] as ((...x: unknown[]) => void | Promise<void>) | undefined;
    (out as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      await fa?.apply(a, args);
      await fb?.apply(b, args);
    };
  }
  return out;
}

export async function healthReport(ctx: AcmeContext, opts: { crl?: CrlPublisher; intermediate?: IntermediateInfo }): Promise<HealthReport> {
  const now = ctx.now();
  const store = ctx.store;
  let storeCheck: HealthReport['checks']['store'];
  try {
    if (store.readOnly) throw new Error('the store is open read-only');
    await store.checkWritable();
    storeCheck = { ok: true };
  } catch (err) {
    storeCheck = { ok: false, detail: (err as Error).message };
  }
  const checks: HealthReport['checks'] = { store: storeCheck };
  if (ctx.audit) {
    try {
      await ctx.audit.check();
      checks.audit = { ok: true };
    } catch (err) {
      checks.audit = { ok: false, detail: (err as Error).message };
    }
  }
  if (opts.intermediate) {
    const { notBefore, notAfter } = opts.intermediate;
    checks.intermediate = {
      ok: notBefore <= now && now < notAfter,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      daysUntilExpiry: Math.floor(((notAfter.getTime() - now.getTime()) / 86_400_000) * 100) / 100,
    };
  }
  if (opts.crl) {
    const c = opts.crl.current();
    checks.crl = {
      ok: c !== undefined && c.nextUpdate > now,
      crlNumber: c?.crlNumber ?? null,
      thisUpdate: c?.thisUpdate.toISOString() ?? null,
      nextUpdate: c?.nextUpdate.toISOString() ?? null,
    };
  }
  const ok = Object.values(checks).every((c) => c.ok);
  return { status: ok ? 'ok' : 'fail', checks };
}

/** GET <base>health and (unless disabled) GET <base>metrics: unauthenticated, see docs/serving.md. */
export function registerObservabilityRoutes(app: FastifyInstance, paths: { health: string; metrics: string | null }, ctx: AcmeContext, obs: Observability, opts: { crl?: CrlPublisher; intermediate?: IntermediateInfo }): void {
  app.get(paths.health, async (_req, reply) => {
    const report = await healthReport(ctx, opts);
    return reply.code(report.status === 'ok' ? 200 : 503).header('Cache-Control', 'no-store').type('application/json').send(Buffer.from(JSON.stringify(report)));
  });
  if (paths.metrics) {
    app.get(paths.metrics, async (_req, reply) => {
      const text = await obs.registry.metrics();
      return reply.code(200).header('Cache-Control', 'no-store').type(obs.registry.contentType).send(text);
    });
  }
}
