// RFC 8555 §6, §7 and §11 requirements, one test per MUST/SHOULD not covered elsewhere; each title
// names its section. docs/acme.md "RFC 8555 requirements and their tests" maps sections to tests.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64url } from 'jose';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { appRig, type AppRig } from './helpers/app.js';
import { x509 } from '../../src/ca/x509.js';
import { BASE_URL, NODE_A, testEnv, type TestEnv } from './helpers/deps.js';
import { injectTransport, TestAcmeClient, testCsr, type HttpResponse } from './helpers/client.js';

const DIR_URL = BASE_URL + 'directory';

function problemOf(res: HttpResponse, type: string, status: number): { detail: string; subproblems?: Array<{ type: string; identifier: { type: string; value: string }; detail: string }> } {
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json');
  const p = res.json<{ type: string; detail: string }>();
  assert.equal(p.type, `urn:ietf:params:acme:error:${type}`, res.body);
  return p;
}

describe('RFC 8555 requirements', () => {
  let env: TestEnv;
  let client: TestAcmeClient;
  let other: TestAcmeClient;
  const ids = (names: string[]) => ({ identifiers: names.map((value) => ({ type: 'dns', value })) });
  let rig: AppRig;
  before(async () => {
    rig = await appRig();
    ({ env, client } = rig);
    other = rig.other!;
  });
  after(() => rig.close());

  describe('§7.1.4 / §7.4 identifiers', () => {
    it('§7.1.4: a dns identifier not in preferred name syntax (RFC 5280 §4.2.1.6) is rejectedIdentifier, carrying the value exactly as sent', async () => {
      const name = NODE_A.dns[0]!;
      const bad: Array<[string, RegExp]> = [
        [name.toUpperCase(), /upper-case/],
        [name + '.', /ends with a dot/],
        [' ' + name, /white space/],
        [name.replace('.', '..'), /label/],
        ['under_score.' + name, /label/],
        ['ünï.' + name, /not ASCII/],
        ['-lead.' + name, /label/],
        ['a'.repeat(64) + '.' + name, /label/],
      ];
      for (const [value, why] of bad) {
        const p = problemOf(await client.post(client.directory.newOrder!, ids([value])), 'rejectedIdentifier', 400);
        assert.equal(p.subproblems?.length, 1, value);
        assert.deepEqual(p.subproblems![0]!.identifier, { type: 'dns', value }, 'the subproblem names the identifier as sent');
        assert.match(p.subproblems![0]!.detail, why, value);
        assert.match(p.subproblems![0]!.detail, /preferred name syntax/);
      }
    });
    it('§7.4: the order\'s identifiers are exactly the requested ones, in the requested order; one listed twice is malformed', async () => {
      const names = [NODE_A.dns[1]!, NODE_A.dns[0]!];
      const res = await client.post(client.directory.newOrder!, ids(names));
      assert.equal(res.status, 201, res.body);
      assert.deepEqual(res.json().identifiers, names.map((value) => ({ type: 'dns', value })));
      const again = await client.post(String(res.headers.location), '');
      assert.deepEqual(again.json().identifiers, names.map((value) => ({ type: 'dns', value })));
      problemOf(await client.post(client.directory.newOrder!, ids([names[0]!, names[0]!])), 'malformed', 400);
    });
  });

  describe('§7.4 finalize', () => {
    it('§7.4: finalize of an order that is pending, valid or invalid is 403 orderNotReady, and issues nothing', async () => {
      const { der } = await testCsr([NODE_A.dns[0]!]);
      const csr = base64url.encode(der);
      const pending = (await client.newOrder([NODE_A.dns[0]!])).json<{ finalize: string }>();
      problemOf(await client.post(pending.finalize, { csr }), 'orderNotReady', 403);
      const issued = await client.issue([NODE_A.dns[0]!]);
      const count = (await env.store.listCertificates()).length;
      const p = problemOf(await client.post(issued.order.finalize as string, { csr }), 'orderNotReady', 403);
      assert.match(p.detail, /valid/);
      assert.equal((await env.store.listCertificates()).length, count, 'no second certificate');
      // An order made invalid by deactivating its authorization (§7.5.2).
      const doomed = await client.newOrder([NODE_A.dns[1]!]);
      const authz = doomed.json<{ authorizations: string[]; finalize: string }>();
      assert.equal((await client.post(authz.authorizations[0]!, { status: 'deactivated' })).status, 200);
      assert.equal((await client.post(String(doomed.headers.location), '')).json().status, 'invalid');
      problemOf(await client.post(authz.finalize, { csr }), 'orderNotReady', 403);
    });
    it('§11.1: a CSR whose key is another account\'s key is badCSR, and the order stays ready', async () => {
      const names = [NODE_A.dns[0]!];
      const { url, body } = await client.readyOrder(names);
      const otherKeys = { privateKey: other.key.privateKey, publicKey: await crypto.subtle.importKey('jwk', other.key.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']) };
      const p = problemOf(await client.post(body.finalize as string, { csr: base64url.encode((await testCsr(names, { keys: otherKeys })).der) }), 'badCSR', 400);
      assert.match(p.detail, /key of an ACME account/);
      assert.equal((await client.post(url, '')).json().status, 'ready');
    });
    it('§7.4: a CSR asking for a CA certificate (basicConstraints cA=TRUE) is badCSR, not downgraded to a leaf', async () => {
      const names = [NODE_A.dns[0]!];
      const { url, body } = await client.readyOrder(names);
      const { der } = await testCsr(names, { extensions: [new x509.BasicConstraintsExtension(true, 0, true)] });
      const p = problemOf(await client.post(body.finalize as string, { csr: base64url.encode(der) }), 'badCSR', 400);
      assert.match(p.detail, /CA certificate/);
      assert.equal((await client.post(url, '')).json().status, 'ready');
      // cA=FALSE asked explicitly is a leaf request: accepted.
      const leaf = await testCsr(names, { extensions: [new x509.BasicConstraintsExtension(false, undefined, true)] });
      assert.equal((await client.post(body.finalize as string, { csr: base64url.encode(leaf.der) })).json().status, 'valid');
    });
  });

  describe('§7.5.1 validation outcome in the log', () => {
    it('§7.5.1: a failed validation is logged at warn with its reason; a successful one at info', async (t) => {
      const lines: Array<Record<string, unknown>> = [];
      const logEnv = await testEnv({ logger: { level: 'info', stream: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } } });
      const logApp = buildAcmeApp(logEnv.deps);
      t.after(async () => {
        await logApp.close();
        await logEnv.cleanup();
      });
      const c = await TestAcmeClient.create(injectTransport(logApp), DIR_URL);
      await c.newAccount({ eab: logEnv.eab[NODE_A.name] });
      logEnv.validator.decide = () => ({ valid: false, problem: { type: 'connection', detail: 'connection refused by 192.0.2.1:80' } });
      await c.readyOrder([NODE_A.dns[0]!]);
      const logged = async (msg: string) => {
        for (let i = 0; i < 500 && !lines.some((l) => l.msg === msg); i++) await new Promise((r) => setTimeout(r, 10));
        return lines.find((l) => l.msg === msg);
      };
      const failed = await logged('challenge validation failed');
      assert.ok(failed, JSON.stringify(lines.map((l) => l.msg)));
      assert.equal(failed.level, 40, 'warn');
      assert.equal(failed.problem, 'connection');
      assert.equal(failed.detail, 'connection refused by 192.0.2.1:80');
      assert.equal(failed.identifier, NODE_A.dns[0]);
      logEnv.validator.decide = () => ({ valid: true });
      await c.readyOrder([NODE_A.dns[1]!]);
      assert.equal((await logged('challenge validated'))?.level, 30, 'info');
    });
  });

  describe('name constraints at newOrder', () => {
    it('§7.4 / RFC 5280 §4.2.1.10: a name the signer can never certify is rejectedIdentifier at newOrder, before any authorization exists', async (t) => {
      const ncEnv = await testEnv();
      const base = ncEnv.deps.signer;
      ncEnv.deps.signer = {
        signLeaf: (r) => base.signLeaf(r),
        refusedNames: (names) => names.filter((n) => n === NODE_A.dns[1]).map((name) => ({ name, reason: 'outside the permitted subtrees' })),
      };
      const ncApp = buildAcmeApp(ncEnv.deps);
      t.after(async () => {
        await ncApp.close();
        await ncEnv.cleanup();
      });
      const c = await TestAcmeClient.create(injectTransport(ncApp), DIR_URL);
      await c.newAccount({ eab: ncEnv.eab[NODE_A.name] });
      const before = ncEnv.store.stats().authorizations;
      const p = problemOf(await c.newOrder([NODE_A.dns[0]!, NODE_A.dns[1]!]), 'rejectedIdentifier', 400);
      assert.deepEqual(p.subproblems?.map((x) => x.identifier.value), [NODE_A.dns[1]]);
      assert.match(p.subproblems![0]!.detail, /outside the permitted subtrees/);
      assert.equal(ncEnv.store.stats().authorizations, before, 'no authorization was created');
      assert.equal((await c.newOrder([NODE_A.dns[0]!])).status, 201);
    });
  });
});
