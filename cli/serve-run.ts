// The composition root of the online issuer: loads the intermediate, opens the stores, wires the
// LeafSigner (src/ca/leaf.ts) and the challenge validator into buildAcmeApp, and serves it over
// HTTPS with a certificate of its own that it renews (and hot-swaps) at 2/3 of its lifetime.
import { closeGracefully } from '../src/net/close.js';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import type { LoadedIssuer } from '../src/ceremony/issuer-dir.js';
import { checkBaseUrlHost } from './serve-base-url.js';
import { acmeLimitsOf, connectionLimitsOf, planDashboard, planServe, type ServeConfig } from '../src/config/serve.js';
import { applyConnectionLimits, connectionServerOptions } from '../src/acme/http/connection.js';
import type { LeafSigner } from '../src/acme/orders.js';
import type { StoreRepair } from '../src/store/acme-recovery.js';
import type { RunningDashboard } from '../src/dashboard/http/server.js';
import type { AcmeStore } from '../src/acme/store.js';
import type { InventoryStore } from '../src/store/inventory.js';
import type { AriPollRecorder } from '../src/store/ari-polls.js';
import type { publishCrlNow as PublishCrlNow } from '../src/acme/http/app.js';
import type { AuditTrail } from '../src/acme/context.js';
import type { PgAuditChain } from '../src/store/pg/index.js';

export interface RunningServer {
  server: HttpsServer;
  /** The dashboard's listener with --dashboard, else null. */
  dashboard: RunningDashboard | null;
  baseUrl: URL;
  directoryUrl: string;
  close(): Promise<void>;
}

/** Issues the issuer's own TLS certificate with a fresh in-memory key (never written to disk). */
async function issueServerCertificate(issuer: LoadedIssuer, names: readonly string[], lifetimeMs: number) {
  const { issueLeaf } = await import('../src/ca/leaf.js');
  const { generateKeyPair, exportPrivateKeyPem } = await import('../src/ca/keys.js');
  const keys = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const notAfter = new Date(Math.min(now + lifetimeMs, issuer.certificate.notAfter.getTime()));
  const cert = await issueLeaf(issuer, { publicKey: keys.publicKey, dnsNames: names, notBefore: new Date(now - Math.min(5 * 60_000, lifetimeMs)), notAfter });
  return { key: await exportPrivateKeyPem(keys.privateKey), cert: cert.toString('pem') + '\n' + issuer.intermediatePem, serial: cert.serialNumber.toLowerCase(), notAfter, issuedAt: now };
}

/** The admin socket: operations of src/ops applied in this process, which owns the store. */
async function startAdmin(
  opts: ServeConfig,
  o: { dir: string; store: AcmeStore; inventory: InventoryStore; ariPolls: AriPollRecorder; app: Parameters<typeof PublishCrlNow>[0]; log: Logger; audit?: PgAuditChain },
) {
  const { startAdminServer } = await import('../src/ops/admin-socket.js');
  const { publishCrlNow } = await import('../src/acme/http/app.js');
  const { adminSocketPathOf } = await import('../src/ops/socket-path.js');
  const { opsDeps } = await import('./ops.js');
  // serveConfigFromCommand already resolved it (--print-config shows it); this covers direct callers.
  const path = adminSocketPathOf({ configured: opts.adminSocket, state: o.dir, cwd: process.cwd() });
  const deps = await opsDeps({
    state: o.dir,
    store: o.store,
    inventory: o.inventory,
    now: () => new Date(),
    appliedBy: 'issuer',
    ariPolls: () => o.ariPolls.read(),
    afterRevocation: async () => void (await publishCrlNow(o.app, 'operator revocation')),
    ...(o.audit ? { audit: o.audit.append } : {}),
  });
  const admin = await startAdminServer({ path, deps, allowedUids: [process.getuid?.() ?? 0], log: o.log });
  o.log.info({ adminSocket: path }, 'admin socket listening (root and this user only)');
  return admin;
}

/** Starts everything; resolves once listening. Used by the command and by tests. */
/** The --resolve overrides, parsed (a malformed one is a usage error). */
async function resolveOverrides(c: ServeConfig): Promise<Map<string, string[]>> {
  const { parseResolveOverrides } = await import('../src/acme/validation.js');
  try {
    return parseResolveOverrides(c.resolve);
  } catch (err) {
    throw new CliError('usage', (err as Error).message);
  }
}

/** Starts everything; resolves once listening. `issuer` is the loaded intermediate (production or --dev). */
export async function startServe(opts: ServeConfig, log: Logger, issuer: LoadedIssuer): Promise<RunningServer> {
  const dir = opts.state;
  const { listen, baseUrl, crlUrl, tlsLifetimeMs, directoryUrl } = planServe(opts);
  const leafLifetimeMs = opts.leafLifetime;
  const timeoutMs = opts.validationTimeout;
  const challengeWaitMs = opts.challengeWait;
  const { createChallengeValidator } = await import('../src/acme/validation.js');
  const overrides = await resolveOverrides(opts);
  const logStream = await logDestination(opts);
  const { permittedDnsOf, namesOutsideConstraints } = await import('../src/ca/constraints.js');
  // RFC 5280 §4.2.1.10: the intermediate's and the root's constraints both apply to every leaf.
  const constraining = [{ label: 'the intermediate', certificate: issuer.certificate }, { label: 'the root', certificate: issuer.root }];
  const refusedNames = (names: readonly string[]) => namesOutsideConstraints(names, constraining).map((r) => ({ name: r.name, reason: `${r.reason}; fix the inventory or the ceremony's --permit-dns` }));
  const tlsNames = [baseUrl.hostname.toLowerCase()];
  await checkBaseUrlHost(tlsNames[0]!, permittedDnsOf(issuer.certificate), "the intermediate's");

  // Leaves come from a per-issuer template (src/ca/leaf-template.ts): the hot path's encoder.
  const { createLeafTemplate } = await import('../src/ca/leaf-template.js');
  const leafTemplate = await createLeafTemplate(issuer);
  const { problem } = await import('../src/acme/problems.js');
  const signer: LeafSigner = {
    refusedNames,
    async signLeaf(req) {
      // The inventory may name hosts the root's name constraints do not permit (RFC 5280
      // §4.2.1.10): such a leaf would be rejected by every client, so it is not issued at all.
      const refused = refusedNames(req.dnsNames);
      if (refused.length) throw problem('rejectedIdentifier', refused.map((r) => `${r.name} is ${r.reason}`).join('; '));
      if (req.notAfter > issuer.certificate.notAfter) {
        throw problem('serverInternal', `the intermediate expires at ${issuer.certificate.notAfter.toISOString()}, before this certificate would; the operator must install a new intermediate`);
      }
      const cert = leafTemplate.issue({
        spki: req.spki,
        dnsNames: req.dnsNames,
        notBefore: req.notBefore,
        notAfter: req.notAfter,
        ...(crlUrl ? { crlDistributionPoints: [crlUrl] } : {}),
      });
      const certificatePem = cert.pem + '\n';
      return { serial: cert.serial, certificatePem, chainPem: certificatePem + issuer.intermediatePem.trim() + '\n', notBefore: cert.notBefore, notAfter: cert.notAfter, akiKeyId: cert.akiKeyId, encodedFromRequest: true };
    },
  };
  const validator = createChallengeValidator({ resolve: overrides, http01Port: opts.http01Port, tlsAlpn01Port: opts.tlsAlpn01Port, timeoutMs, attempts: 3, retryDelayMs: 1000 });
  const { openSelectedStore, openSelectedAriPollRecorder } = await import('../src/store/open.js');
  const { openInventoryStore } = await import('../src/store/inventory.js');
  const { buildAcmeApp } = await import('../src/acme/http/app.js');
  const { issuerCrlSigner } = await import('../src/acme/crl.js');
  const { auditTrail, transactionalAuditTrail } = await import('../src/audit/acme-events.js');
  const { recoverAuditEntries, recoverSharedAuditEntries } = await import('../src/audit/recover.js');
  const { certifyAuditKey } = await import('../src/audit/certify.js');
  // The intermediate key is unlocked here anyway: make sure it certifies the audit log's key
  // (docs/operations.md). Not fatal: the log is still written and verifiable with --allow-uncertified.
  try {
    const r = await certifyAuditKey(dir, issuer);
    if (r.issued) log.info({ serial: r.certificate.serialNumber.toLowerCase() }, 'certified the audit log signing key');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not certify the audit log signing key');
  }
  // A torn last line (kill -9 mid-append) is dropped at open; its bytes are kept beside the log.
  const onRepair = (r: StoreRepair) => log.warn({ file: r.file, offset: r.offset, droppedBytes: r.droppedBytes, keptIn: r.keptIn }, 'dropped a torn last line of the ACME store (a write interrupted by a crash; never acknowledged)');
  const selection = { state: dir, url: opts.store, passwordFile: opts.storePasswordFile };
  const opened = await openSelectedStore(selection, { onRepair, nonces: true, log: (msg, err) => log.warn({ err: err?.message }, msg) });
  const store = opened.acme;
  // Before answering: every certificate and revocation in the store has its audit entry (fail
  // closed: if the log cannot take the missing entries, the issuer does not start). On the shared
  // store the entries go to the database's one chain, signed with this host's audit key.
  let audit: AuditTrail;
  let sharedChain: PgAuditChain | undefined;
  try {
    if (opened.sharedAudit) {
      const { sharedAuditChain } = await import('./audit-store.js');
      const chain = (sharedChain = (await sharedAuditChain(dir, opened.sharedAudit, [issuer.certificate])).chain);
      const rec = await recoverSharedAuditEntries(store, await opened.sharedAudit.missing(), (e) => chain.append(e));
      if (rec.certificates.length || rec.revocations.length) log.warn({ certificates: rec.certificates, revocations: rec.revocations }, 'wrote shared audit entries, marked recovered, for records without one (committed before the shared chain existed, or outside nixca)');
      audit = transactionalAuditTrail(chain);
    } else {
      const rec = await recoverAuditEntries(dir, store);
      if (rec.certificates.length || rec.revocations.length) log.warn({ certificates: rec.certificates, revocations: rec.revocations }, 'wrote audit entries, marked recovered, for records committed without one');
      audit = auditTrail(dir);
    }
  } catch (err) {
    await store.close();
    throw err;
  }
  // The shared store's inventory follows other instances' and the CLI's changes without a restart.
  // Read on every account request: look at the file at most once a second (changes through the
  // admin socket go through this handle and are seen at once).
  const inventory = opened.inventory ?? (await openInventoryStore(dir, { recheckMs: 1000 }));
  // On the shared store the record is shared too: a client may poll renewalInfo on any instance.
  const ariPolls = await openSelectedAriPollRecorder(selection, { onError: (err) => log.warn({ err: err.message }, 'could not write the ARI fetch record') });
  const app = buildAcmeApp({
    baseUrl,
    store,
    // Several instances on one shared store: each redeems its own nonces, asks the others about
    // theirs; any nonce is accepted once (docs/postgres.md "Nonces").
    ...(opened.noncePeers ? { noncePeers: opened.noncePeers } : {}),
    inventory,
    signer,
    validator,
    eabRequired: opts.eab === 'required',
    limits: acmeLimitsOf(opts),
    leafLifetime: { defaultMs: leafLifetimeMs, maxMs: leafLifetimeMs, minMs: Math.min(3_600_000, leafLifetimeMs) },
    validationTimeoutMs: timeoutMs * 3 + 5000,
    challengeWaitMs,
    ...(crlUrl ? { crl: { signer: issuerCrlSigner(issuer) } } : {}),
    // Every issuance and revocation through ACME is committed with its signed audit entry, or fails.
    audit,
    events: { renewalInfoFetched: (e) => ariPolls.record(e) },
    intermediate: { notBefore: issuer.certificate.notBefore, notAfter: issuer.certificate.notAfter },
    metrics: opts.metrics,
    processMetrics: true,
    // fastify's pino: request logs (method, url, status, time); never bodies, so no JWS or keys.
    logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel, ...(logStream ? { stream: logStream } : {}) },
  });
  await app.ready();
  const outsideInventory = (await inventory.read()).nodes.flatMap((n) => refusedNames([...n.dnsNames, ...n.dnsSuffixes.map((s) => '*.' + s)]).map((r) => `${n.name}:${r.name} (${r.reason})`));
  if (outsideInventory.length) log.warn({ names: outsideInventory }, 'inventory names outside the intermediate\'s name constraints (or the root\'s) will be refused at newOrder');

  // The admin channel (docs/operations.md): operator changes applied inside this process.
  const admin = await startAdmin(opts, { dir, store, inventory, ariPolls, app, log, ...(sharedChain ? { audit: sharedChain } : {}) });

  let tls = await issueServerCertificate(issuer, tlsNames, tlsLifetimeMs);
  const connectionLimits = connectionLimitsOf(opts);
  const server = createHttpsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2', ...connectionServerOptions(connectionLimits) }, (req, res) => app.routing(req, res));
  applyConnectionLimits(server, connectionLimits);

  // Renewal of our own certificate at 2/3 of its lifetime, hot-swapped into the listener so no
  // connection is dropped. setTimeout cannot wait longer than ~24.8 days, so long waits re-check.
  let renewTimer: NodeJS.Timeout | undefined;
  let dashboard: RunningDashboard | null = null;
  let closed = false;
  const scheduleRenewal = () => {
    const dueAt = tls.issuedAt + ((tls.notAfter.getTime() - tls.issuedAt) * 2) / 3;
    const wait = Math.max(1000, Math.min(dueAt - Date.now(), 86_400_000));
    renewTimer = setTimeout(async () => {
      if (closed) return;
      if (Date.now() < dueAt) return scheduleRenewal();
      try {
        tls = await issueServerCertificate(issuer, tlsNames, tlsLifetimeMs);
        server.setSecureContext({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' });
        dashboard?.setTls(tls);
        log.info({ serial: tls.serial, names: tlsNames, notAfter: tls.notAfter.toISOString() }, 'renewed the issuer TLS certificate');
        if (tls.notAfter.getTime() >= issuer.certificate.notAfter.getTime()) {
          // Capped by the intermediate: renewing again cannot help; the operator must install a new one.
          log.warn({ intermediateNotAfter: issuer.certificate.notAfter.toISOString() }, 'the intermediate expires soon: install a new one (nixca issuer init/install) and restart');
          return;
        }
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not renew the issuer TLS certificate; retrying in a minute');
        renewTimer = setTimeout(scheduleRenewal, 60_000);
        renewTimer.unref();
        return;
      }
      scheduleRenewal();
    }, wait);
    renewTimer.unref();
  };
  scheduleRenewal();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info({ store: opened.display, listen: `${listen.host}:${listen.port}`, baseUrl: baseUrl.toString(), directory: directoryUrl, eab: opts.eab, crl: crlUrl, tlsSerial: tls.serial, tlsNotAfter: tls.notAfter.toISOString(), rootPath: issuer.rootPath, resolve: Object.fromEntries(overrides), http01Port: opts.http01Port, tlsAlpn01Port: opts.tlsAlpn01Port }, `listening on ${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}, directory ${directoryUrl}`);

  const dashboardPlan = planDashboard(opts);
  if (dashboardPlan) {
    const { startDashboard } = await import('./serve-dashboard.js');
    const crlPath = crlUrl && new URL(crlUrl).origin === baseUrl.origin ? new URL(crlUrl).pathname : null;
    dashboard = await startDashboard(dashboardPlan, opts, { issuer, store, inventory, acmeApp: app, crlPath, tls, ariPolls: () => ariPolls.read(), resolve: overrides, log });
  }
  return {
    server,
    dashboard,
    baseUrl,
    directoryUrl,
    async close() {
      closed = true;
      if (renewTimer) clearTimeout(renewTimer);
      await dashboard?.close();
      await closeGracefully(server);
      await admin.close();
      await app.close();
      await ariPolls.close();
      await store.close();
    },
  };
}

export async function runServe(ctx: CliContext, config: ServeConfig): Promise<void> {
  let opts = config;
  const log = await serveLogger(opts);
  // Every setting was checked when the configuration was parsed; the overrides are checked
  // before anything is created or loaded (bad input loses nothing).
  await resolveOverrides(opts);
  let issuer: LoadedIssuer;
  if (opts.dev) {
    const { prepareDev, DEV_NODE_NAME } = await import('./dev.js');
    // The example node's name exists in no DNS: validate it on this machine unless told otherwise,
    // so the printed Caddyfile works with a Caddy running next to the issuer.
    if (!opts.resolve.some((r) => r.toLowerCase().startsWith(DEV_NODE_NAME + '='))) {
      opts = { ...opts, resolve: [...opts.resolve, `${DEV_NODE_NAME}=127.0.0.1`] };
    }
    issuer = await prepareDev(ctx, opts);
  } else {
    const { loadProductionIssuer } = await import('./serve-issuer.js');
    issuer = await loadProductionIssuer(ctx, opts.state, opts.passphraseFile);
  }
  const running = await startServe(opts, log, issuer);
  const { notifyReady } = await import('./systemd-notify.js');
  const ready = await notifyReady(ctx.io.env, `serving ${running.directoryUrl}`);
  // Not fatal: systemd restarts a notify unit that never reports ready, and says why.
  if (ready.error) log.warn({ err: ready.error }, 'could not tell systemd the issuer is ready (Type=notify needs NotifyAccess=all)');
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal }, 'shutting down');
  await running.close();
  log.info('stopped');
  log.flush?.();
}

/** pino options + destination for the issuer's own log and fastify's request log (the same format). */
export async function logDestination(c: Pick<ServeConfig, 'logFormat'>): Promise<{ write(s: string): void } | undefined> {
  const { prettyStream, wantsPretty } = await import('./log.js');
  return wantsPretty(c.logFormat, Boolean(process.stdout.isTTY)) ? prettyStream(process.stdout) : undefined;
}

async function serveLogger(c: ServeConfig): Promise<Logger> {
  const { pino } = await import('pino');
  const dest = await logDestination(c);
  const opts = { level: c.logLevel, base: { name: 'nixca' } };
  return dest ? pino(opts, dest) : pino(opts);
}
