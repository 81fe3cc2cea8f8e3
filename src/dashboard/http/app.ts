// buildDashboardApp: the read-only dashboard as a fastify instance that never listens (server.ts
// serves it over TLS; tests use inject). Only GET and HEAD exist: nothing here can change state.
// Every response carries a strict Content-Security-Policy: scripts and styles from this origin
// only, no inline script or style at all (so no nonce is needed), nothing from any other origin.
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Html } from '../html.js';
import type { DashboardSnapshot } from '../model.js';
import { mainContent, page, type PageContext } from '../views/layout.js';
import { overviewBody } from '../views/overview.js';
import { auditBody, certificatesBody, keysBody, parseCertificateFilter } from '../views/pages.js';
import { DASHBOARD_CSS } from '../views/style.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  // Fleet state is not to be kept by proxies or the browser's disk cache.
  'cache-control': 'no-store',
};

// A plain shield in the stylesheet's blue: browsers ask for an icon, and a 404 would be noise.
const ICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1 2 3.5V8c0 3.5 2.6 6.2 6 7 3.4-.8 6-3.5 6-7V3.5z" fill="#1f5fa8"/></svg>';

export interface DashboardDeps {
  snapshot(): Promise<DashboardSnapshot>;
  /**
   * Who is looking: the operator's name (client certificate) or null on a loopback listener.
   * May throw (e.g. the audit entry for the view could not be written): the request then fails.
   */
  viewer(req: IncomingMessage): Promise<string | null>;
  now?: () => Date;
  refreshSeconds?: number;
  logger?: FastifyServerOptions['logger'];
}

/** A compiled page module (src/dashboard/client/*.ts), served from this origin; no source map link. */
function clientModule(file: string): string {
  return readFileSync(new URL(`../client/${file}`, import.meta.url), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
}

type View = (s: DashboardSnapshot, req: FastifyRequest, now: Date) => Html;
const VIEWS: Record<string, { title: string; body: View }> = {
  '/': { title: 'Fleet', body: (s, _r, now) => overviewBody(s, now) },
  '/certificates': { title: 'Certificates', body: (s, r, now) => certificatesBody(s, parseCertificateFilter(r.query as Record<string, unknown>), now) },
  '/keys': { title: 'Signing keys', body: (s) => keysBody(s) },
  '/audit': { title: 'Audit & CRL', body: (s) => auditBody(s) },
};

export function buildDashboardApp(deps: DashboardDeps): FastifyInstance {
  const app = fastify({ logger: deps.logger ?? false, return503OnClosing: true });
  const now = deps.now ?? (() => new Date());
  const refreshSeconds = deps.refreshSeconds ?? 15;
  const scripts = { 'dashboard.js': clientModule('refresh.js'), 'time-left.js': clientModule('time-left.js') };
  const operators = new WeakMap<FastifyRequest, string | null>();

  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return reply.code(405).header('allow', 'GET, HEAD').type('text/plain; charset=utf-8').send('the dashboard is read-only\n');
    }
    try {
      operators.set(req, await deps.viewer(req.raw));
    } catch (err) {
      req.log.error({ err: (err as Error).message }, 'dashboard view refused');
      return reply.code(503).type('text/plain; charset=utf-8').send('the dashboard cannot record this view in the audit log; refused\n');
    }
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain; charset=utf-8').send('not found\n'));
  app.setErrorHandler((err, req, reply) => {
    req.log.error({ err: (err as Error).message }, 'dashboard error');
    return reply.code(500).type('text/plain; charset=utf-8').send('internal error (see the server log)\n');
  });

  app.get('/assets/icon.svg', (_req, reply) => reply.type('image/svg+xml').send(ICON_SVG));
  app.get('/assets/dashboard.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(DASHBOARD_CSS));
  for (const [name, text] of Object.entries(scripts)) app.get(`/assets/${name}`, (_req, reply) => reply.type('text/javascript; charset=utf-8').send(text));
  app.get('/api/status.json', async (_req, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(await deps.snapshot())));

  for (const [path, view] of Object.entries(VIEWS)) {
    app.get(path, async (req: FastifyRequest, reply: FastifyReply) => {
      const s = await deps.snapshot();
      const t = now();
      const body = view.body(s, req, t);
      const ctx: PageContext = { path, operator: operators.get(req) ?? null, refreshSeconds };
      const fragment = (req.query as Record<string, unknown>).fragment === 'main';
      return reply.type('text/html; charset=utf-8').send(String(fragment ? mainContent(s, view.title, body) : page(s, ctx, view.title, body)));
    });
  }
  return app;
}
