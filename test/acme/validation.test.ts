// Challenge validation against real local servers on loopback: node:http for http-01, node:tls
// with certificates generated here for tls-alpn-01 (RFC 8737), and raw sockets for timeouts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { x509 } from '../../src/ca/x509.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../src/ca/keys.js';
import { acmeIdentifierDigest, checkAcmeTlsCertificate, ID_PE_ACME_IDENTIFIER } from '../../src/acme/tls-alpn-01.js';
import { createChallengeValidator as createValidator, makeResolver, parseResolveOverrides } from '../../src/acme/validation.js';
import type { ValidationRequest } from '../../src/acme/challenges.js';

const NAME = 'cache.nuc-1.n3x.internal';
const TOKEN = 'tok_' + 'A'.repeat(39);
const KEY_AUTHZ = `${TOKEN}.thumbprint-${'B'.repeat(32)}`;

function listen<T extends HttpServer | NetServer | TlsServer>(server: T): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
function close(server: HttpServer | NetServer | TlsServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
/** A loopback port with nothing listening (bound once, then released). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  const port = await listen(s);
  await close(s);
  return port;
}

const httpInput: ValidationRequest = { type: 'http-01', identifier: NAME, token: TOKEN, keyAuthorization: KEY_AUTHZ };
const tlsInput: ValidationRequest = { type: 'tls-alpn-01', identifier: NAME, token: TOKEN, keyAuthorization: KEY_AUTHZ };
const loopback = { [NAME]: '127.0.0.1' };

describe('http-01 (RFC 8555 §8.3)', () => {
  let server: HttpServer;
  let port: number;
  let seenHost = '';
  // What the challenge path answers, per test.
  let handler: (path: string, res: ServerResponse) => void = () => undefined;
  before(async () => {
    server = createHttpServer((req, res) => {
      seenHost = String(req.headers.host);
      handler(req.url ?? '', res);
    });
    port = await listen(server);
  });
  after(() => close(server));
  const validator = () => createValidator({ resolve: loopback, fallback: null, http01Port: port, timeoutMs: 1000, attempts: 1 });

  it('is valid when the body is the key authorization (trailing whitespace ignored), with Host = identifier', async () => {
    handler = (path, res) => (path === `/.well-known/acme-challenge/${TOKEN}` ? res.end(KEY_AUTHZ + '\r\n') : res.writeHead(404).end());
    const r = await validator().validate(httpInput);
    assert.deepEqual(r, { valid: true });
    assert.equal(seenHost, `${NAME}:${port}`);
  });

  it('is incorrectResponse for a wrong body, without echoing the body', async () => {
    handler = (_p, res) => res.end('secret-internal-page');
    const r = await validator().validate(httpInput);
        assert.ok(!r.valid);
    assert.equal(r.problem.type, 'incorrectResponse');
    assert.doesNotMatch(r.problem.detail, /secret-internal-page/);
  });

  it('is incorrectResponse for leading whitespace or a body that is too large', async () => {
    handler = (_p, res) => res.end(' ' + KEY_AUTHZ);
    assert.equal((await validator().validate(httpInput) as { problem: { type: string } }).problem.type, 'incorrectResponse');
    handler = (_p, res) => res.end(KEY_AUTHZ + ' '.repeat(5000) + 'x');
    const r = await validator().validate(httpInput);
    assert.ok(!r.valid);
    assert.equal(r.problem.type, 'incorrectResponse');
    assert.match(r.problem.detail, /larger than/);
  });

  it('is unauthorized for 404', async () => {
    handler = (_p, res) => res.writeHead(404).end('not found');
    const r = await validator().validate(httpInput);
    assert.ok(!r.valid);
    assert.equal(r.problem.type, 'unauthorized');
    assert.match(r.problem.detail, /HTTP 404/);
  });

  it('follows a same-host redirect but not one to another host or to https', async () => {
    handler = (path, res) => (path.endsWith('/moved') ? res.end(KEY_AUTHZ) : res.writeHead(302, { Location: `/.well-known/acme-challenge/moved` }).end());
    assert.equal((await validator().validate(httpInput)).valid, true);
    handler = (_p, res) => res.writeHead(302, { Location: `http://169.254.169.254:${port}/latest/meta-data` }).end();
    let r = await validator().validate(httpInput);
    assert.ok(!r.valid);
    assert.equal(r.problem.type, 'connection');
    assert.match(r.problem.detail, /another host/);
    handler = (_p, res) => res.writeHead(301, { Location: `https://${NAME}/x` }).end();
    r = await validator().validate(httpInput);
    assert.ok(!r.valid);
    assert.match(r.problem.detail, /https/);
    handler = (_p, res) => res.writeHead(302, { Location: `/.well-known/acme-challenge/${TOKEN}` }).end();
    r = await validator().validate(httpInput);
    assert.ok(!r.valid);
    assert.match(r.problem.detail, /too many redirects/);
  });

  it('is connection for a refused port, after the configured attempts', async () => {
    const dead = await freePort();
    const v = createValidator({ resolve: loopback, fallback: null, http01Port: dead, timeoutMs: 1000, attempts: 2, retryDelayMs: 10 });
    const r = await v.validate(httpInput);
    assert.ok(!r.valid);
    assert.equal(r.problem.type, 'connection');
    assert.match(r.problem.detail, /refused.*after 2 attempts/);
  });

  it('falls back to the next address when one is unreachable', async () => {
    handler = (_p, res) => res.end(KEY_AUTHZ);
    // 127.0.0.2 is loopback on Linux but nothing listens there on this port.
    const v = createValidator({ resolve: { [NAME]: ['127.0.0.2', '127.0.0.1'] }, fallback: null, http01Port: port, timeoutMs: 1000, attempts: 1 });
    assert.deepEqual(await v.validate(httpInput), { valid: true });
  });

  it('validates over IPv6 loopback (::1), with the bare address given to the socket', async () => {
    const v6 = createHttpServer((_req, res) => res.end(KEY_AUTHZ));
    const p6 = await new Promise<number>((resolve) => v6.listen(0, '::1', () => resolve((v6.address() as AddressInfo).port)));
    try {
      const v = createValidator({ resolve: { [NAME]: '::1' }, fallback: null, http01Port: p6, timeoutMs: 1000, attempts: 1 });
      assert.deepEqual(await v.validate(httpInput), { valid: true });
    } finally {
      await close(v6);
    }
  });

  it('is dns when the configured resolver has no address (no fallback to the system)', async () => {
    const r = await createValidator({ resolve: {}, fallback: null, http01Port: port, attempts: 1 }).validate(httpInput);
    assert.ok(!r.valid);
    assert.equal(r.problem.type, 'dns');
  });
});

describe('timeouts', () => {
  let server: NetServer;
  let port: number;
  const sockets: Socket[] = [];
  // Accepts TCP and never answers: neither HTTP nor a TLS ServerHello.
  before(async () => {
    server = createNetServer((s) => void sockets.push(s));
    port = await listen(server);
  });
  after(() => {
    sockets.forEach((s) => s.destroy());
    return close(server);
  });
  for (const input of [httpInput, tlsInput]) {
    it(`${input.type} stops at once when the core aborts`, async () => {
      const v = createValidator({ resolve: loopback, fallback: null, http01Port: port, tlsAlpn01Port: port, timeoutMs: 5000, attempts: 3 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const t0 = Date.now();
      const r = await v.validate(input, ac.signal);
      assert.ok(!r.valid);
      assert.match(r.problem.detail, /cancelled/);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    });

    it(`${input.type} gives up after timeoutMs with a connection problem`, async () => {
      const v = createValidator({ resolve: loopback, fallback: null, http01Port: port, tlsAlpn01Port: port, timeoutMs: 300, attempts: 1 });
      const t0 = Date.now();
      const r = await v.validate(input);
      const took = Date.now() - t0;
      assert.ok(!r.valid);
      assert.equal(r.problem.type, 'connection');
      assert.match(r.problem.detail, /timed out/);
      assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    });
  }
});

interface CertSpec {
  sans?: x509.JsonGeneralName[];
  critical?: boolean;
  digest?: Uint8Array | null;
  extra?: boolean;
}

async function validationCert(spec: CertSpec = {}): Promise<{ key: string; cert: string }> {
  const keys = await generateKeyPair('ECDSA-P256');
  const exts: x509.Extension[] = [new x509.SubjectAlternativeNameExtension(spec.sans ?? [{ type: 'dns', value: NAME }])];
  if (spec.digest !== null) {
    const value = AsnConvert.serialize(new OctetString(spec.digest ?? acmeIdentifierDigest(KEY_AUTHZ)));
    exts.push(new x509.Extension(ID_PE_ACME_IDENTIFIER, spec.critical ?? true, value));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: '',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: exts,
  });
  return { key: await exportPrivateKeyPem(keys.privateKey), cert: cert.toString('pem') };
}

describe('tls-alpn-01 (RFC 8737 §3)', () => {
  const servers: TlsServer[] = [];
  let seenSni: string | undefined;
  after(() => Promise.all(servers.map(close)));
  async function serve(spec: CertSpec, alpn: string[] | null = ['acme-tls/1']): Promise<number> {
    const { key, cert } = await validationCert(spec);
    const s = createTlsServer({
      key,
      cert,
      ...(alpn ? { ALPNProtocols: alpn } : {}),
      SNICallback: (name, cb) => {
        seenSni = name;
        cb(null);
      },
    });
    s.on('tlsClientError', () => undefined);
    s.on('secureConnection', (sock) => sock.end());
    servers.push(s);
    return listen(s);
  }
  const run = async (port: number) => createValidator({ resolve: loopback, fallback: null, tlsAlpn01Port: port, timeoutMs: 2000, attempts: 1 }).validate(tlsInput);
  const problem = async (port: number) => {
    const r = await run(port);
    assert.ok(!r.valid, JSON.stringify(r));
    return r.problem;
  };

  it('is valid for a correct certificate, sending SNI = identifier', async () => {
    seenSni = undefined;
    const port = await serve({});
    assert.deepEqual(await run(port), { valid: true });
    assert.equal(seenSni, NAME);
  });

  it('offers only acme-tls/1: a server that speaks only h2 fails the handshake (tls)', async () => {
    const p = await problem(await serve({}, ['h2', 'http/1.1']));
    assert.equal(p.type, 'tls');
  });

  it('is tls when the server negotiates no ALPN at all', async () => {
    const p = await problem(await serve({}, null));
    assert.equal(p.type, 'tls');
    assert.match(p.detail, /did not negotiate ALPN acme-tls\/1/);
  });

  it('is incorrectResponse for a wrong digest', async () => {
    const p = await problem(await serve({ digest: acmeIdentifierDigest('someone-else') }));
    assert.equal(p.type, 'incorrectResponse');
    assert.match(p.detail, /SHA-256/);
  });

  it('is incorrectResponse for a non-critical acmeIdentifier extension', async () => {
    const p = await problem(await serve({ critical: false }));
    assert.equal(p.type, 'incorrectResponse');
    assert.match(p.detail, /not marked critical/);
  });

  it('is incorrectResponse for two SANs, a wrong name, or no extension', async () => {
    let p = await problem(await serve({ sans: [{ type: 'dns', value: NAME }, { type: 'dns', value: 'other.n3x.internal' }] }));
    assert.equal(p.type, 'incorrectResponse');
    assert.match(p.detail, /2 entries/);
    p = await problem(await serve({ sans: [{ type: 'dns', value: 'other.n3x.internal' }] }));
    assert.match(p.detail, /not cache\.nuc-1/);
    p = await problem(await serve({ digest: null }));
    assert.match(p.detail, /no acmeIdentifier/);
  });

  it('is connection when nothing listens', async () => {
    const p = await problem(await freePort());
    assert.equal(p.type, 'connection');
    assert.match(p.detail, /refused/);
  });
});

describe('certificate checks without a network', () => {
  it('rejects an extension value that is not an OCTET STRING', async () => {
    const keys = await generateKeyPair('ECDSA-P256');
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '02',
      name: '',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: NAME }]),
        // The raw 32 digest bytes, not wrapped in an OCTET STRING: an old draft's encoding.
        new x509.Extension(ID_PE_ACME_IDENTIFIER, true, new Uint8Array(acmeIdentifierDigest(KEY_AUTHZ))),
      ],
    });
    assert.match(String(checkAcmeTlsCertificate(new Uint8Array(cert.rawData), NAME, KEY_AUTHZ)), /OCTET STRING|SHA-256/);
  });
});

describe('resolver overrides (--resolve NAME=IP)', () => {
  it('parses repeatable values and rejects junk', async () => {
    const m = parseResolveOverrides(['A.example=127.0.0.1', 'a.example=::1', 'b.example=[::1]']);
    assert.deepEqual(m.get('a.example'), ['127.0.0.1', '::1']);
    assert.deepEqual(m.get('b.example'), ['::1']);
    assert.throws(() => parseResolveOverrides(['nope']), /NAME=IP/);
    assert.throws(() => parseResolveOverrides(['a.example=not-an-ip']), /NAME=IP/);
    const r = makeResolver(m, null);
    assert.deepEqual(await r('A.EXAMPLE.'), ['127.0.0.1', '::1']);
    await assert.rejects(r('c.example'), /no address/);
  });
});
