// A real ACME protocol client for tests: jose-signed flattened JWS, a nonce pool fed by every
// Replay-Nonce (like acmez), badNonce retry, and helpers for the common flows. The transport is
// pluggable: fastify inject (unit tests) or fetch (a listening server).
import { base64url, calculateJwkThumbprint, exportJWK, FlattenedSign, generateKeyPair, type JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { x509 } from '../../../src/ca/x509.js';
import { generateKeyPair as generateCaKeyPair, signingAlgorithm, type KeyAlgorithm } from '../../../src/ca/keys.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export type Transport = (req: { method: string; url: string; headers?: Record<string, string>; body?: string }) => Promise<HttpResponse>;

function wrap(status: number, headers: Record<string, string | string[] | undefined>, body: string): HttpResponse {
  return { status, headers, body, json: <T>() => JSON.parse(body) as T };
}

export function injectTransport(app: FastifyInstance): Transport {
  return async ({ method, url, headers, body }) => {
    const u = new URL(url);
    const res = await app.inject({ method: method as 'POST', url: u.pathname + u.search, headers, payload: body });
    return wrap(res.statusCode, res.headers as Record<string, string | string[] | undefined>, res.body);
  };
}

export function fetchTransport(): Transport {
  return async ({ method, url, headers, body }) => {
    const res = await fetch(url, { method, headers, body });
    const h: Record<string, string> = {};
    res.headers.forEach((v, k) => (h[k] = v));
    return wrap(res.status, h, await res.text());
  };
}

export type AccountAlg = 'ES256' | 'ES384' | 'EdDSA' | 'RS256';

export interface AccountKey {
  alg: AccountAlg;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function accountKey(alg: AccountAlg = 'ES256'): Promise<AccountKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
  return { alg, privateKey: privateKey as CryptoKey, jwk: await exportJWK(publicKey) };
}

export interface SignOptions {
  /** Sign with the embedded jwk instead of kid (newAccount, revokeCert by certificate key). */
  useJwk?: boolean;
  key?: AccountKey;
  /** Override or remove (null) protected header members. */
  header?: Record<string, unknown>;
  nonce?: string | null;
  url?: string;
}

export const te = new TextEncoder();

export class TestAcmeClient {
  kid: string | undefined;
  readonly nonces: string[] = [];
  directory!: Record<string, string> & { meta?: Record<string, unknown> };
  /** Retry on badNonce (clients must, §6.5); tests of badNonce itself turn this off. */
  retryBadNonce = true;
  /** How many badNonce answers were retried (the Pebble-style reject test counts them). */
  badNonceRetries = 0;

  constructor(readonly transport: Transport, readonly directoryUrl: string, public key: AccountKey) {}

  static async create(transport: Transport, directoryUrl: string, alg: AccountAlg = 'ES256'): Promise<TestAcmeClient> {
    const c = new TestAcmeClient(transport, directoryUrl, await accountKey(alg));
    const res = await transport({ method: 'GET', url: directoryUrl });
    c.directory = res.json();
    return c;
  }

  async thumbprint(): Promise<string> {
    return calculateJwkThumbprint(this.key.jwk, 'sha256');
  }

  async nonce(): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled) return pooled;
    const res = await this.transport({ method: 'HEAD', url: this.directory.newNonce! });
    return String(res.headers['replay-nonce']);
  }

  /** A flattened JWS (§6.2) for `url`; payload '' is POST-as-GET. */
  async sign(url: string, payload: unknown, opts: SignOptions = {}): Promise<{ protected: string; payload: string; signature: string }> {
    const key = opts.key ?? this.key;
    const nonce = opts.nonce === undefined ? await this.nonce() : opts.nonce;
    const header: Record<string, unknown> = { alg: key.alg, url: opts.url ?? url, ...(nonce === null ? {} : { nonce }) };
    if (opts.useJwk || !this.kid) header.jwk = key.jwk;
    else header.kid = this.kid;
    for (const [k, v] of Object.entries(opts.header ?? {})) {
      if (v === null) delete header[k];
      else header[k] = v;
    }
    const bytes = payload === '' ? new Uint8Array() : te.encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
    const jws = await new FlattenedSign(bytes).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
    return { protected: jws.protected!, payload: jws.payload, signature: jws.signature };
  }

  /** POSTs a raw body; records the Replay-Nonce. */
  async postRaw(url: string, body: string, contentType = 'application/jose+json'): Promise<HttpResponse> {
    const res = await this.transport({ method: 'POST', url, headers: { 'content-type': contentType, 'user-agent': 'nixca-test-client' }, body });
    const n = res.headers['replay-nonce'];
    if (typeof n === 'string') this.nonces.push(n);
    return res;
  }

  async post(url: string, payload: unknown, opts: SignOptions = {}): Promise<HttpResponse> {
    let res = await this.postRaw(url, JSON.stringify(await this.sign(url, payload, opts)));
    for (let retry = 0; retry < 5 && this.retryBadNonce && res.status === 400 && opts.nonce === undefined && res.body.includes('urn:ietf:params:acme:error:badNonce'); retry++) {
      this.badNonceRetries++;
      res = await this.postRaw(url, JSON.stringify(await this.sign(url, payload, opts)));
    }
    return res;
  }

  async eabFor(eab: { keyId: string; macKey: string }, url = this.directory.newAccount!, over: Record<string, unknown> = {}, payloadJwk: JWK = this.key.jwk) {
    const header = { alg: 'HS256', kid: eab.keyId, url, ...over };
    const jws = await new FlattenedSign(te.encode(JSON.stringify(payloadJwk))).setProtectedHeader(header).sign(base64url.decode(eab.macKey));
    return { protected: jws.protected!, payload: jws.payload, signature: jws.signature };
  }

  async newAccount(opts: { eab?: { keyId: string; macKey: string }; contact?: string[]; onlyReturnExisting?: boolean } = {}): Promise<HttpResponse> {
    const payload: Record<string, unknown> = { termsOfServiceAgreed: true };
    if (opts.contact) payload.contact = opts.contact;
    if (opts.onlyReturnExisting) payload.onlyReturnExisting = true;
    if (opts.eab) payload.externalAccountBinding = await this.eabFor(opts.eab);
    const res = await this.post(this.directory.newAccount!, payload, { useJwk: true });
    if (res.status === 200 || res.status === 201) this.kid = String(res.headers.location);
    return res;
  }

  async newOrder(names: readonly string[], extra: Record<string, unknown> = {}): Promise<HttpResponse> {
    return this.post(this.directory.newOrder!, { identifiers: names.map((value) => ({ type: 'dns', value })), ...extra });
  }

  /** Places an order for `name`: its URLs, and its authorization's and that one's http-01 challenge's. */
  async http01(name: string): Promise<{ orderUrl: string; authzUrl: string; challengeUrl: string }> {
    const res = await this.newOrder([name]);
    if (res.status !== 201) throw new Error(`newOrder failed: ${res.status} ${res.body}`);
    const authzUrl = (res.json().authorizations as string[])[0]!;
    const authz = (await this.post(authzUrl, '')).json<{ challenges: Array<{ type: string; url: string }> }>();
    return { orderUrl: String(res.headers.location), authzUrl, challengeUrl: authz.challenges.find((c) => c.type === 'http-01')!.url };
  }

  /** Places an order and answers every authorization's http-01 challenge; polls until ready. */
  async readyOrder(names: readonly string[], extra: Record<string, unknown> = {}): Promise<{ url: string; body: Record<string, unknown> }> {
    const res = await this.newOrder(names, extra);
    if (res.status !== 201) throw new Error(`newOrder failed: ${res.status} ${res.body}`);
    const url = String(res.headers.location);
    let order = res.json();
    for (const authzUrl of order.authorizations as string[]) {
      const authz = (await this.post(authzUrl, '')).json<{ status: string; challenges: Array<{ type: string; url: string }> }>();
      if (authz.status !== 'pending') continue;
      const ch = authz.challenges.find((c) => c.type === 'http-01')!;
      await this.post(ch.url, {});
    }
    order = await this.poll(url, (o) => o.status !== 'pending');
    return { url, body: order };
  }

  async poll(url: string, done: (body: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const body = (await this.post(url, '')).json();
      if (done(body) || Date.now() > deadline) return body;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** readyOrder + finalize with a fresh key; returns the final order and the chain PEM. */
  async issue(names: readonly string[], extra: Record<string, unknown> = {}, keyAlg: KeyAlgorithm = 'ECDSA-P256') {
    const { url, body } = await this.readyOrder(names, extra);
    const { der, keys } = await testCsr(names, { keyAlgorithm: keyAlg });
    const fin = await this.post(body.finalize as string, { csr: base64url.encode(der) });
    if (fin.status !== 200) throw new Error(`finalize failed: ${fin.status} ${fin.body}`);
    const order = fin.json();
    const cert = await this.post(order.certificate as string, '');
    return { orderUrl: url, order, chainPem: cert.body, certResponse: cert, certKeys: keys };
  }
}

/** A PKCS#10 CSR (RFC 2986) naming `names` in the SAN, signed with a fresh (or given) key. */
export async function testCsr(
  names: readonly string[],
  opts: { keyAlgorithm?: KeyAlgorithm; keys?: CryptoKeyPair; commonName?: string; extraSans?: Array<{ type: 'ip' | 'email'; value: string }>; extensions?: x509.Extension[] } = {},
): Promise<{ der: Uint8Array; keys: CryptoKeyPair }> {
  const keys = opts.keys ?? (await generateCaKeyPair(opts.keyAlgorithm ?? 'ECDSA-P256'));
  const sans = [...names.map((value) => ({ type: 'dns' as const, value })), ...(opts.extraSans ?? [])];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: opts.commonName ? `CN=${opts.commonName}` : '',
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []), ...(opts.extensions ?? [])],
  });
  return { der: new Uint8Array(csr.rawData), keys };
}

export function firstCertificate(chainPem: string): x509.X509Certificate {
  return new x509.X509Certificate(chainPem.split(/(?=-----BEGIN CERTIFICATE-----)/)[0]!);
}
