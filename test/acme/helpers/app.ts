// The real ACME core (buildAcmeApp over fastify.inject) with accounts already made: the set-up
// that tests of the core, of its audit hooks and of both stores share.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildAcmeApp, type AcmeDeps } from '../../../src/acme/http/app.js';
import { injectTransport, TestAcmeClient } from './client.js';
import { BASE_URL, NODE_A, NODE_B, testEnv, type TestEnv } from './deps.js';

export interface AppRig {
  env: TestEnv;
  app: FastifyInstance;
  /** An account of NODE_A (made with its EAB credential). */
  client: TestAcmeClient;
  /** An account of NODE_B (none with accounts: 1). */
  other?: TestAcmeClient;
  /** GET /health: its status and the audit check it reports. */
  health(): Promise<{ status: number; audit?: { ok: boolean; detail?: string } }>;
  close(): Promise<void>;
}

/** A ready app with an account for NODE_A and (unless accounts: 1) one for NODE_B; close() (or the test's end when t is given) frees it. */
export async function appRig(
  overrides: Partial<AcmeDeps> = {},
  opts: { dir?: string; t?: TestContext; accounts?: 1 | 2 } = {},
): Promise<AppRig> {
  const env = await testEnv(overrides, { dir: opts.dir });
  const app = buildAcmeApp(env.deps);
  const close = async () => {
    await app.close();
    await env.cleanup();
  };
  opts.t?.after(close);
  await app.ready();
  const client = await TestAcmeClient.create(injectTransport(app), BASE_URL + 'directory');
  assert.equal((await client.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
  let other: TestAcmeClient | undefined;
  if (opts.accounts !== 1) {
    other = await TestAcmeClient.create(injectTransport(app), BASE_URL + 'directory');
    assert.equal((await other.newAccount({ eab: env.eab[NODE_B.name] })).status, 201);
  }
  const health = async () => {
    const r = await app.inject({ method: 'GET', url: new URL('health', BASE_URL).pathname });
    return { status: r.statusCode, audit: (JSON.parse(r.body) as { checks: { audit?: { ok: boolean; detail?: string } } }).checks.audit };
  };
  return { env, app, client, other, health, close };
}
