// `nixca serve --dashboard`: wires the read-only dashboard (src/dashboard) to the running issuer:
// its inventory, its ACME store handle, the CRL it serves, its audit log, and its TLS certificate
// (renewed with the ACME listener's). Optionally probes the fleet every --probe-interval.
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { LoadedIssuer } from '../src/ceremony/issuer-dir.js';
import type { DashboardPlan, ServeConfig } from '../src/config/serve.js';
import type { AcmeStore } from '../src/acme/store.js';
import type { InventoryData } from '../src/inventory/model.js';
import type { RunningDashboard } from '../src/dashboard/http/server.js';
import type { AriPollData } from '../src/status/ari-polls.js';

export interface DashboardWiring {
  issuer: LoadedIssuer;
  store: AcmeStore;
  inventory: { read(): Promise<InventoryData> };
  /** The ACME app: the dashboard reads the CRL exactly as served (GET <base>crl). */
  acmeApp: FastifyInstance;
  crlPath: string | null;
  tls: { key: string; cert: string };
  /** The renewalInfo fetches this issuer has seen (RFC 9773), as `status` reads them. */
  ariPolls: () => AriPollData;
  /** serve --resolve: where the probes connect for a name. */
  resolve: ReadonlyMap<string, readonly string[]>;
  log: Logger;
}

export async function startDashboard(plan: DashboardPlan, opts: Pick<ServeConfig, 'state' | 'logLevel'>, w: DashboardWiring): Promise<RunningDashboard> {
  const { SnapshotSource } = await import('../src/dashboard/snapshot.js');
  const { ProbeRunner } = await import('../src/dashboard/probes.js');
  const { ViewAudit } = await import('../src/dashboard/viewers.js');
  const { buildDashboardApp } = await import('../src/dashboard/http/app.js');
  const { dashboardAuthFor, OperatorGate, startDashboardServer } = await import('../src/dashboard/http/server.js');
  const rootPem = w.issuer.root.toString('pem');
  const now = () => new Date();
  const issued = async () => ({
    certificates: (await w.store.listCertificates()).map((c) => ({ serial: c.serial, node: c.node, names: c.names, notBefore: c.notBefore, notAfter: c.notAfter, issuedAt: c.issuedAt })),
    revocations: (await w.store.listRevocations()).map((r) => ({ serial: r.serial, reason: r.reason, revokedAt: r.revokedAt })),
  });
  let probes: InstanceType<typeof ProbeRunner> | null = null;
  if (plan.probeIntervalMs !== null) {
    const resolve = new Map([...w.resolve].flatMap(([name, addrs]) => (addrs[0] ? [[name, { address: addrs[0] }] as const] : [])));
    probes = new ProbeRunner(plan.probeIntervalMs, { rootPem, probePaths: plan.probePaths, port: plan.probePort, resolve, timeoutMs: 5000 }, async () => ({ inventory: await w.inventory.read(), ...(await issued()) }), now, w.log);
  }
  const snapshots = new SnapshotSource({
    stateDir: opts.state,
    inventory: w.inventory,
    issued,
    async crl() {
      if (!w.crlPath) return null;
      const r = await w.acmeApp.inject({ method: 'GET', url: w.crlPath });
      return r.statusCode === 200 ? new Uint8Array(r.rawPayload) : null;
    },
    async ari() {
      const { ariPollingByNode } = await import('../src/dashboard/model.js');
      const [inventory, { certificates }] = await Promise.all([w.inventory.read(), issued()]);
      return ariPollingByNode(inventory.nodes, w.ariPolls(), certificates);
    },
    auditTrust: { intermediates: [w.issuer.certificate], root: w.issuer.root },
    probes,
    now,
  });
  const auth = dashboardAuthFor(plan.listen.host, plan.requireClientCert);
  const gate = auth === 'operator-certificate' ? new OperatorGate(w.issuer.certificate, now) : null;
  const views = gate ? new ViewAudit(opts.state, now) : null;
  const app = buildDashboardApp({
    snapshot: () => snapshots.get(),
    async viewer(req) {
      if (!gate || !views) return null;
      const look = await gate.operatorOf(req);
      await views.seen(look);
      return look.name;
    },
    logger: opts.logLevel === 'silent' ? false : { level: 'warn' },
  });
  const running = await startDashboardServer(app, { ...plan.listen, auth, tls: w.tls, clientCa: [rootPem, w.issuer.intermediatePem], intermediate: w.issuer.certificate, now }, gate);
  probes?.start();
  w.log.info({ dashboard: `https://${running.address.host.includes(':') ? `[${running.address.host}]` : running.address.host}:${running.address.port}/`, auth, probeIntervalMs: plan.probeIntervalMs }, 'nixca dashboard listening (read-only)');
  return {
    ...running,
    async close() {
      probes?.stop();
      await running.close();
    },
  };
}
