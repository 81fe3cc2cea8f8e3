// One full ACME issuance (RFC 8555 §7.3–7.4) driven by the third-party `acme-client` library:
// newAccount (with EAB, §7.3.4) → newOrder → authorization → http-01 (§8.3, served by us) → poll →
// finalize with a P-256 CSR → poll → download. Used by the benchmark and by the crash and load tests.
//
// Client behaviour is the same as ../shared/bench/acme-load.mjs (studied, not imported), for the
// same reasons: acme-client's default HEAD newNonce before every POST (and axios opening a new
// socket after a HEAD response) would double the requests and TLS handshakes per flow, so the
// Replay-Nonce of the previous response is reused (RFC 8555 §6.5, as certbot and lego do), and a
// fresh one is fetched with GET (§7.2 allows GET → 204). The account key is handed to acme-client
// as a parsed KeyObject (re-parsing PEM per JWS dominates the client's CPU otherwise) and every
// connection shares one TLS SecureContext. Keys and CSRs are generated before any timed window.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { SecureContext } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import acme from 'acme-client';

export interface Prepared {
  name: string;
  accountKeyPem: Buffer;
  accountKey: KeyObject;
  certKeyPem: Buffer;
  csr: Buffer;
}

/** Account key and CSR for each name; done before the timed window. */
export async function prepare(names: readonly string[]): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const name of names) {
    const accountKeyPem = await acme.crypto.createPrivateEcdsaKey('P-256');
    const certKeyPem = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ altNames: [name] }, certKeyPem);
    out.push({ name, accountKeyPem, accountKey: createPrivateKey(accountKeyPem), certKeyPem, csr });
  }
  return out;
}

let configured = false;
/** Global acme-client/axios settings: no proxy, no redirects, no retries on 5xx/network errors. */
export function configureAcmeClient(httpTimeoutMs = 30_000): void {
  if (configured) return;
  configured = true;
  const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } };
  defaults.proxy = false; // loopback traffic must never go through a proxy taken from the environment
  defaults.timeout = httpTimeoutMs;
  defaults.maxRedirects = 0;
  // A 5xx or a dropped connection fails the flow and is counted, instead of being retried silently.
  defaults.acmeSettings.retryMaxAttempts = 0;
  defaults.acmeSettings.retryDefaultDelay = 1;
  // acme-client's response interceptor loses the transport error (ECONNREFUSED, ECONNRESET, …) and
  // throws "Cannot read properties of undefined"; catch it at the adapter (axios as acme-client
  // itself resolves it) and hand the code to the request wrapper through the request config.
  const axios = createRequire(createRequire(import.meta.url).resolve('acme-client'))('axios') as {
    getAdapter(name: string): (config: Record<string, unknown>) => Promise<unknown>;
  };
  const httpAdapter = axios.getAdapter('http');
  (defaults as unknown as { adapter: unknown }).adapter = async (config: Record<string, unknown> & { onTransportError?: (why: string) => void }) => {
    try {
      return await httpAdapter(config);
    } catch (err) {
      const e = err as { response?: unknown; code?: string; message?: string };
      if (!e.response) config.onTransportError?.(e.code ?? e.message ?? String(err));
      throw err;
    }
  };
}

/** The http-01 responder (RFC 8555 §8.3): GET /.well-known/acme-challenge/TOKEN → key authorization. */
export class Http01Responder {
  private readonly tokens = new Map<string, string>();
  private readonly servers: http.Server[] = [];
  served = 0;
  unknown = 0;

  constructor(
    readonly port: number,
    private readonly hosts: readonly string[] = ['127.0.0.1', '::1'],
  ) {}

  async start(): Promise<void> {
    const handler: http.RequestListener = (req, res) => {
      const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec((req.url ?? '').split('?')[0]!);
      const ka = m ? this.tokens.get(m[1]!) : undefined;
      if (ka) {
        this.served += 1;
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': Buffer.byteLength(ka) });
        res.end(ka);
      } else {
        this.unknown += 1;
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
      }
    };
    for (const host of this.hosts) {
      if (host !== '::1' && !host.startsWith('127.')) throw new Error(`http-01 responder: ${host} is not a loopback address`);
      const srv = http.createServer(handler);
      srv.keepAliveTimeout = 1000;
      try {
        await new Promise<void>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ port: this.port, host, ipv6Only: host === '::1' }, resolve);
        });
        this.servers.push(srv);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (host === '::1' && ['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes(code)) continue;
        throw new Error(`cannot serve http-01 on ${host}:${this.port}: ${code || String(err)}`, { cause: err });
      }
    }
  }

  set(token: string, keyAuthorization: string): void {
    this.tokens.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.tokens.delete(token);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.servers) s.closeAllConnections();
  }
}

export interface FlowStats {
  requests: number;
  polls: number;
  badNonce: number;
  byStatus: Record<string, number>;
  phases: Record<string, number>;
}

export interface FlowOptions {
  directory: string;
  /** One TLS context for every connection (trusting the directory's CA), or undefined for http. */
  secureContext?: SecureContext;
  eab?: { kid: string; hmacKey: string };
  responder: Http01Responder;
  pollMs: number;
  timeoutMs: number;
}

export type FlowResult =
  | { ok: true; ms: number; chainPem: string; st: FlowStats }
  | { ok: false; ms: number; error: string; step: string; st: FlowStats };

interface HttpInternals {
  accountKey: unknown;
  request(url: string, method: string, o?: Record<string, unknown>): Promise<{ status: number; data: unknown; headers: Record<string, string> }>;
  getNonce(): Promise<string>;
  getResourceUrl(resource: string): Promise<string>;
}
interface ClientInternals {
  http: HttpInternals;
  api: { apiRequest(url: string, payload: unknown, valid: number[]): Promise<{ data: Record<string, unknown> }> };
}

/**
 * An acme-client Client with one keep-alive socket (a per-flow connection, like an independent
 * ACME client), Replay-Nonce reuse, and request counting.
 */
export class FlowClient {
  readonly client: acme.Client;
  readonly st: FlowStats = { requests: 0, polls: 0, badNonce: 0, byStatus: {}, phases: {} };
  private readonly agent: http.Agent;
  private spareNonce: string | undefined;

  constructor(
    readonly prep: Prepared,
    readonly opts: FlowOptions,
    accountUrl?: string,
  ) {
    const u = new URL(opts.directory);
    const isHttps = u.protocol === 'https:';
    // `localhost` may resolve to ::1 first while the server listens on 127.0.0.1 only.
    const family = u.hostname === 'localhost' ? 4 : undefined;
    this.agent = isHttps
      ? new https.Agent({ keepAlive: true, maxSockets: 1, secureContext: opts.secureContext, family })
      : new http.Agent({ keepAlive: true, maxSockets: 1, family });
    this.client = new acme.Client({ directoryUrl: opts.directory, accountKey: prep.accountKeyPem, externalAccountBinding: opts.eab, backoffAttempts: 1, ...(accountUrl ? { accountUrl } : {}) });
    const inner = (this.client as unknown as ClientInternals).http;
    // acme-client passes the key to crypto.sign()/createPublicKey(), which accept a KeyObject.
    inner.accountKey = prep.accountKey;
    const origRequest = inner.request.bind(inner);
    inner.request = async (url, method, o = {}) => {
      if (isHttps) o.httpsAgent = this.agent;
      else o.httpAgent = this.agent;
      this.st.requests += 1;
      let transportError: string | undefined;
      o.onTransportError = (why: string) => (transportError = why);
      let resp;
      try {
        resp = await origRequest(url, method, o);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        throw new Error(`${method.toUpperCase()} ${url}: transport error: ${transportError ?? e.code ?? e.message ?? String(err)}`, { cause: err });
      }
      this.st.byStatus[resp.status] = (this.st.byStatus[resp.status] ?? 0) + 1;
      const data = resp.data as { type?: string } | undefined;
      if (resp.status === 400 && data?.type === 'urn:ietf:params:acme:error:badNonce') this.st.badNonce += 1;
      else if (resp.headers['replay-nonce']) this.spareNonce = resp.headers['replay-nonce'];
      return resp;
    };
    inner.getNonce = async () => {
      if (this.spareNonce) {
        const n = this.spareNonce;
        this.spareNonce = undefined;
        return n;
      }
      const url = await inner.getResourceUrl('newNonce');
      const resp = await inner.request(url, 'get');
      this.spareNonce = undefined;
      const n = resp.headers['replay-nonce'];
      if (!n) throw new Error(`newNonce (GET) returned HTTP ${resp.status} without Replay-Nonce`);
      return n;
    };
  }

  /** POST-as-GET until `status` is one of `okStates` (RFC 8555 §7.5.1 polling). */
  async poll(url: string, what: string, okStates: readonly string[], deadline: number): Promise<Record<string, unknown>> {
    const api = (this.client as unknown as ClientInternals).api;
    for (;;) {
      const resp = await api.apiRequest(url, null, [200]);
      this.st.polls += 1;
      const s = String(resp.data.status);
      if (okStates.includes(s)) return resp.data;
      if (['invalid', 'deactivated', 'expired', 'revoked'].includes(s)) {
        throw new Error(`${what} became ${s}: ${describeErrors(resp.data)}`);
      }
      if (performance.now() > deadline) throw new Error(`${what} still '${s}' after ${this.opts.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, this.opts.pollMs));
    }
  }

  /** Validates every pending authorization of `order` with http-01. */
  async validate(order: acme.Order, deadline: number): Promise<void> {
    const authzs = await this.client.getAuthorizations(order);
    for (const authz of authzs) {
      if (authz.status === 'valid') continue;
      const ch = authz.challenges.find((c) => c.type === 'http-01');
      if (!ch) throw new Error(`no http-01 challenge offered for ${authz.identifier.value}`);
      const keyAuth = await this.client.getChallengeKeyAuthorization(ch);
      // Served until the caller calls releaseTokens(): a server restarted in the middle of a
      // validation resumes it (§8.2) and must still find the key authorization.
      this.opts.responder.set(ch.token, keyAuth);
      this.tokens.add(ch.token);
      if (ch.status === 'pending') await this.client.completeChallenge(ch);
      await this.poll(authz.url, 'authz', ['valid'], deadline);
    }
  }

  /** Tokens this client published on the responder. */
  readonly tokens = new Set<string>();

  releaseTokens(): void {
    for (const t of this.tokens) this.opts.responder.delete(t);
    this.tokens.clear();
  }

  /** Finalizes (if still needed) and waits until the order is valid; returns it with its URL. */
  async finalize(order: acme.Order, deadline: number): Promise<acme.Order> {
    let fin = order;
    if (fin.status === 'ready' || fin.status === 'pending') fin = await this.client.finalizeOrder(order, this.prep.csr);
    if (fin.status !== 'valid') fin = { ...(await this.poll(order.url, 'order', ['valid'], deadline)), url: order.url } as acme.Order;
    return fin;
  }

  destroy(): void {
    this.agent.destroy();
  }
}

function describeErrors(data: Record<string, unknown>): string {
  const parts: string[] = [];
  const err = data.error as { type?: string; detail?: string } | undefined;
  if (err) parts.push(`${err.type ?? ''} ${err.detail ?? ''}`.trim());
  for (const c of (data.challenges as { type: string; error?: { type?: string; detail?: string } }[] | undefined) ?? []) {
    if (c.error) parts.push(`${c.type}: ${c.error.type ?? ''} ${c.error.detail ?? ''}`.trim());
  }
  return parts.join('; ') || '(no error document)';
}

/** One complete issuance; never throws. Phases: account, order, authz+validate, finalize, download. */
export async function runFlow(prep: Prepared, opts: FlowOptions): Promise<FlowResult> {
  const fc = new FlowClient(prep, opts);
  const t0 = performance.now();
  const deadline = t0 + opts.timeoutMs;
  let step = 'account';
  let tPhase = t0;
  const mark = (next: string) => {
    const now = performance.now();
    fc.st.phases[step] = now - tPhase;
    tPhase = now;
    step = next;
  };
  try {
    await fc.client.createAccount({ termsOfServiceAgreed: true });
    mark('order');
    const order = await fc.client.createOrder({ identifiers: [{ type: 'dns', value: prep.name }] });
    mark('validate');
    await fc.validate(order, deadline);
    mark('finalize');
    const fin = await fc.finalize(order, deadline);
    mark('download');
    const chainPem = String(await fc.client.getCertificate(fin));
    mark('done');
    return { ok: true, ms: performance.now() - t0, chainPem, st: fc.st };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, step, error: `[${step}] ${(err as Error)?.message ?? String(err)}`, st: fc.st };
  } finally {
    fc.releaseTokens();
    fc.destroy();
  }
}

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
export const splitPem = (pem: string): string[] => pem.match(PEM_RE) ?? [];

/**
 * Checks a downloaded chain: leaf SAN covers `name`, leaf key is the CSR key, leaf currently valid
 * and not a CA, each certificate signed by the next, and (when `roots` is given) anchored there.
 * Returns an error message, or null when the chain is good.
 */
export function verifyChain(name: string, chainPem: string, certKeyPem: Buffer, roots: readonly X509Certificate[] = []): string | null {
  const pems = splitPem(chainPem);
  if (pems.length === 0) return 'no certificate in download';
  let certs: X509Certificate[];
  try {
    certs = pems.map((p) => new X509Certificate(p));
  } catch (err) {
    return `unparsable certificate: ${(err as Error).message}`;
  }
  const leaf = certs[0]!;
  if (!leaf.checkHost(name, { subject: 'never' })) return `leaf SAN does not cover ${name} (${leaf.subjectAltName})`;
  if (!leaf.checkPrivateKey(createPrivateKey(certKeyPem))) return 'leaf public key does not match the CSR key';
  const now = Date.now();
  if (now < Date.parse(leaf.validFrom) - 5 * 60e3 || now > Date.parse(leaf.validTo)) return `leaf not currently valid (${leaf.validFrom} .. ${leaf.validTo})`;
  if (leaf.ca) return 'leaf has CA:TRUE';
  for (let i = 0; i + 1 < certs.length; i += 1) {
    if (!certs[i]!.checkIssued(certs[i + 1]!)) return `chain[${i}] not issued by chain[${i + 1}]`;
    if (!certs[i]!.verify(certs[i + 1]!.publicKey)) return `chain[${i}] signature does not verify with chain[${i + 1}] key`;
    if (!certs[i + 1]!.ca) return `chain[${i + 1}] is not a CA certificate`;
  }
  if (roots.length > 0) {
    const top = certs[certs.length - 1]!;
    const anchored = roots.some((r) => top.raw.equals(r.raw) || (top.checkIssued(r) && top.verify(r.publicKey)));
    if (!anchored) return `chain top (${top.subject.replace(/\n/g, ', ')}) is not anchored at the issuing root`;
  } else if (certs.length < 2) {
    return 'chain has only the leaf and no root was given to check it against';
  }
  return null;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Runs `items` through `fn`, `concurrency` at a time, keeping order in the results. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    for (;;) {
      const i = next;
      next += 1;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}
