// The dashboard's own HTTPS listener. On a loopback address it needs no login (operators reach it
// through SSH port forwarding). On any other address, or when asked to, it requires a TLS client
// certificate: OpenSSL checks the chain during the handshake (no certificate, or one that does not
// chain to the fleet root through the issuing intermediate, fails the handshake with an alert),
// and before any HTTP request is answered the certificate must have the operator profile
// (src/ca/operator.ts); anything else from the same intermediate, an ACME leaf in particular, gets
// the connection closed without a single HTTP byte. Who looked is written to the audit log.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { isOperatorCertificate, type OperatorVerdict } from '../../ca/operator.js';
import { x509 } from '../../ca/x509.js';
import { closeGracefully } from '../../net/close.js';

export type DashboardAuth = 'none-loopback' | 'operator-certificate';

/** 127.0.0.0/8, ::1, ::ffff:127.x.y.z and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The rule of the listener, from the configured address only (never from who connects): loopback
 * needs no login; any other address (0.0.0.0, ::, a LAN address, a host name) requires an operator
 * certificate. `requireClientCertificate` forces it on loopback too, for hosts where other local
 * users could reach 127.0.0.1.
 */
export function dashboardAuthFor(host: string, requireClientCertificate = false): DashboardAuth {
  return requireClientCertificate || !isLoopbackHost(host) ? 'operator-certificate' : 'none-loopback';
}

export interface OperatorLook {
  name: string;
  serial: string;
  remoteAddress: string | null;
}

export interface DashboardServerOptions {
  host: string;
  port: number;
  auth: DashboardAuth;
  tls: { key: string; cert: string };
  /** Trust anchors for client certificates: the fleet root and the issuing intermediate (PEM). */
  clientCa: string[];
  intermediate: x509.X509Certificate;
  now: () => Date;
}

export interface RunningDashboard {
  server: Server;
  /** The bound address (port 0 resolved). */
  address: { host: string; port: number };
  setTls(tls: { key: string; cert: string }): void;
  close(): Promise<void>;
}

/** Maps each TLS connection to its operator check, so every request on it can wait for the verdict. */
export class OperatorGate {
  readonly #verdicts = new WeakMap<TLSSocket, Promise<OperatorVerdict>>();
  constructor(
    readonly intermediate: x509.X509Certificate,
    readonly now: () => Date,
  ) {}

  /** Runs first on every new TLS connection: starts the check and closes the socket on a no. */
  onConnection(socket: TLSSocket): void {
    const verdict = (async (): Promise<OperatorVerdict> => {
      if (!socket.authorized) return { ok: false, reason: String(socket.authorizationError ?? 'no client certificate') };
      const peer = socket.getPeerCertificate(false);
      if (!peer?.raw) return { ok: false, reason: 'no client certificate' };
      return isOperatorCertificate(new x509.X509Certificate(peer.raw), this.intermediate, this.now());
    })().catch((err: Error): OperatorVerdict => ({ ok: false, reason: err.message }));
    this.#verdicts.set(socket, verdict);
    void verdict.then((v) => {
      if (!v.ok) socket.destroy();
    });
  }

  /** The operator on the connection of `req`, or throws (the socket is being closed). */
  async operatorOf(req: IncomingMessage): Promise<OperatorLook> {
    const socket = req.socket as TLSSocket;
    const v = await (this.#verdicts.get(socket) ?? Promise.resolve<OperatorVerdict>({ ok: false, reason: 'connection not checked' }));
    if (!v.ok) {
      socket.destroy();
      throw new Error(`not an operator certificate: ${v.reason}`);
    }
    return { name: v.name, serial: v.serial, remoteAddress: socket.remoteAddress ?? null };
  }
}

export async function startDashboardServer(app: FastifyInstance, o: DashboardServerOptions, gate: OperatorGate | null): Promise<RunningDashboard> {
  const clientAuth = o.auth === 'operator-certificate';
  if (clientAuth && !gate) throw new Error('an operator-certificate listener needs an OperatorGate');
  const tlsOptions = (t: { key: string; cert: string }) => ({
    key: t.key,
    cert: t.cert,
    minVersion: 'TLSv1.2' as const,
    ...(clientAuth ? { requestCert: true, rejectUnauthorized: true, ca: o.clientCa } : {}),
  });
  await app.ready();
  const server = createServer(tlsOptions(o.tls), (req, res) => app.routing(req, res));
  if (clientAuth) server.prependListener('secureConnection', (socket: TLSSocket) => gate!.onConnection(socket));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const address = typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: o.host, port: o.port };
  return {
    server,
    address,
    setTls: (t) => server.setSecureContext(tlsOptions(t)),
    async close() {
      await closeGracefully(server);
      await app.close();
    },
  };
}
