// A restart of the server in the middle of a client's order (issue #3 acceptance): acme-client
// drives one order while `nixca serve` is killed with SIGKILL (a crash, not a clean stop) three
// times: after newOrder, while the http-01 validation is in flight (challenge `processing`), and
// after the challenge is valid, before finalize. The client must complete after each restart: nothing of the account, order or authorization may be lost, and
// stale nonces from before the crash must be answered with badNonce (which the client retries).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { Agent } from 'node:https';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as acme from 'acme-client';
import { freePorts, tempDir } from '../helpers/cli.js';
import { addNodeWithEab, opensslVerify, startIssuer } from './helpers.js';

// Picked free at run time (port 0), so the suite runs beside other services.
const [PORT, HTTP01] = (await freePorts(2)) as [number, number];
const NAME = 'restart.interop.n3x.internal';
// Owned by the node in the inventory, but outside the development root's name constraints.
const OUTSIDE = 'cache.example.org';

describe('restart in the middle of an order', { timeout: 120_000 }, () => {
  it('acme-client completes an order across three server crashes (SIGKILL)', async (t) => {
    const dir = await tempDir(t, 'nixca-restart-');
    const state = join(dir, 'state');
    const eab = await addNodeWithEab(state, 'restart-node', [NAME, OUTSIDE]);
    const opts = { state, port: PORT, http01Port: HTTP01, names: [NAME, OUTSIDE] };
    let issuer = await startIssuer(t, opts);
    const ca = await readFile(issuer.rootPath, 'utf8');
    acme.axios.defaults.httpsAgent = new Agent({ ca, keepAlive: false });

    // The http-01 responder (what a node's Caddy would serve on port 80). Its first fetch is held
    // unanswered, so the server can be killed while the validation is in flight.
    const answers = new Map<string, string>();
    let fetched = 0;
    let holdNext = true;
    let heldResponse: ServerResponse | undefined;
    let onHeld: () => void = () => undefined;
    const held = new Promise<void>((r) => (onHeld = r));
    const responder: Server = createServer((req, res) => {
      const token = (req.url ?? '').split('/').pop() ?? '';
      const body = answers.get(token);
      fetched++;
      if (holdNext && body) {
        holdNext = false;
        heldResponse = res;
        onHeld();
        return;
      }
      if (body) res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => responder.listen(HTTP01, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => {
      heldResponse?.destroy();
      responder.close(() => r());
    }));

    const client = new acme.Client({
      directoryUrl: issuer.directory,
      accountKey: await acme.crypto.createPrivateEcdsaKey('P-256'),
      externalAccountBinding: { kid: eab.kid, hmacKey: eab.hmac },
      backoffAttempts: 10,
      backoffMin: 200,
      backoffMax: 1000,
    });
    await client.createAccount({ termsOfServiceAgreed: true });
    let order = await client.createOrder({ identifiers: [{ type: 'dns', value: NAME }] });
    assert.equal(order.status, 'pending');

    // Crash #1: between newOrder and the challenge.
    assert.notEqual(await issuer.stop('SIGKILL'), 0);
    issuer = await startIssuer(t, opts);

    const [authz] = await client.getAuthorizations(order);
    assert.ok(authz, 'the authorization survived the crash');
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    assert.ok(challenge, `http-01 offered: ${JSON.stringify(authz.challenges.map((c) => c.type))}`);
    answers.set(challenge.token, await client.getChallengeKeyAuthorization(challenge));
    await client.completeChallenge(challenge);
    await held;
    // Crash #2: the validation is in flight (the issuer is waiting for our held response).
    assert.notEqual(await issuer.stop('SIGKILL'), 0);
    heldResponse?.destroy();
    issuer = await startIssuer(t, opts);
    // The restarted issuer resumes the interrupted validation by itself.
    await client.waitForValidStatus(challenge);
    assert.ok(fetched >= 2, `the issuer fetched the http-01 resource again after the restart (${fetched} fetches)`);

    // Crash #3: challenge valid, order ready, not yet finalized.
    assert.notEqual(await issuer.stop('SIGKILL'), 0);
    issuer = await startIssuer(t, opts);

    order = await client.getOrder(order);
    assert.equal(order.status, 'ready', 'the order is still ready after the restart');
    const [, csr] = await acme.crypto.createCsr({ commonName: NAME, altNames: [NAME] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    order = await client.finalizeOrder(order, csr);
    order = await client.waitForValidStatus(order);
    const chain = await client.getCertificate(order);
    const certs = chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    assert.ok(certs.length >= 2, 'leaf + intermediate');
    await writeFile(join(dir, 'leaf.pem'), certs[0] + '\n');
    await writeFile(join(dir, 'chain.pem'), certs.slice(1).join('\n') + '\n');
    await opensslVerify(issuer.rootPath, join(dir, 'leaf.pem'), join(dir, 'chain.pem'));
    assert.match(issuer.log(), /inventory names outside the intermediate's name constraints/);

    // A name the inventory gives the node but the root's constraints do not permit: refused at
    // newOrder (rejectedIdentifier), before any authorization, not after validation at finalize.
    await assert.rejects(client.createOrder({ identifiers: [{ type: 'dns', value: OUTSIDE }] }), /outside the intermediate's permitted DNS names/);

    // A clean stop after all that exits 0 (graceful SIGTERM).
    assert.equal(await issuer.stop('SIGTERM'), 0, issuer.log().slice(-2000));
  });
});
