// Two ACME apps on one store that says it is shared by instances (as the PostgreSQL store does):
// a client answers a challenge at A and polls at B, as behind a load balancer. B must not start a
// second validation of a challenge A is validating (§7.5.1: one validation per response, from the
// vantage point the client asked), but must resume one whose instance is gone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import type { AcmeStore } from '../../src/acme/store.js';
import { injectTransport, TestAcmeClient } from './helpers/client.js';
import { BASE_URL, fakeValidator, NODE_A, testEnv } from './helpers/deps.js';

/** The same store object, saying it is shared (private fields still reached through `target`). */
function sharedView(store: AcmeStore, shared: boolean): AcmeStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'sharedByInstances') return shared;
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function twoInstances(t: { after(fn: () => unknown): void }, shared: boolean) {
  const env = await testEnv();
  t.after(() => env.cleanup());
  const store = sharedView(env.store, shared);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  env.validator.decide = async () => {
    await gate;
    return { valid: true };
  };
  const validatorB = fakeValidator();
  const appA = buildAcmeApp({ ...env.deps, store });
  const appB = buildAcmeApp({ ...env.deps, store, validator: validatorB });
  t.after(() => appA.close());
  t.after(() => appB.close());
  await Promise.all([appA.ready(), appB.ready()]);
  const atA = await TestAcmeClient.create(injectTransport(appA), BASE_URL + 'directory');
  assert.equal((await atA.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
  // The same account, its requests sent to B.
  const atB = await TestAcmeClient.create(injectTransport(appB), BASE_URL + 'directory');
  atB.key = atA.key;
  atB.kid = atA.kid;
  const { authzUrl, challengeUrl } = await atA.http01(NODE_A.dns[0]!);
  assert.equal((await atA.post(challengeUrl, {})).json<{ status: string }>().status, 'processing');
  return { env, atA, atB, authzUrl, release, validatorB };
}

test('on a shared store, a poll at another instance does not validate a challenge that instance A is validating', async (t) => {
  const { env, atB, authzUrl, release, validatorB } = await twoInstances(t, true);
  assert.equal(env.validator.calls.length, 1);
  for (let i = 0; i < 3; i++) assert.equal((await atB.post(authzUrl, '')).json<{ status: string }>().status, 'pending');
  assert.equal(validatorB.calls.length, 0, 'B left the validation to A');
  release();
  const done = await atB.poll(authzUrl, (a) => a.status !== 'pending');
  assert.equal(done.status, 'valid');
  assert.equal(env.validator.calls.length, 1);
  assert.equal(validatorB.calls.length, 0);
});

test('on a shared store, a challenge processing for longer than a validation may take is resumed by the instance that sees it', async (t) => {
  const { env, atB, authzUrl, release, validatorB } = await twoInstances(t, true);
  // A's validation is still running (its gate is shut), but as far as B can tell A is gone:
  // the challenge has been processing for longer than the validation timeout and its grace.
  env.clock.now = new Date(env.clock.now.getTime() + (env.deps.validationTimeoutMs ?? 0) + 10_000);
  const done = await atB.poll(authzUrl, (a) => a.status !== 'pending');
  assert.equal(done.status, 'valid');
  assert.equal(validatorB.calls.length, 1, 'B resumed the orphaned challenge');
  release();
});

test('on a store only this process serves, a processing challenge with no validation here is resumed at once (a restart)', async (t) => {
  const { atB, authzUrl, release, validatorB } = await twoInstances(t, false);
  const done = await atB.poll(authzUrl, (a) => a.status !== 'pending');
  assert.equal(done.status, 'valid');
  assert.equal(validatorB.calls.length, 1);
  release();
});

test('on a shared store, a processing challenge written before processingSince existed is resumed (a rolling upgrade: it cannot be told from an orphan)', async (t) => {
  const { env, atB, authzUrl, release, validatorB } = await twoInstances(t, true);
  const id = authzUrl.slice(authzUrl.lastIndexOf('/') + 1);
  await env.store.updateAuthorization(id, (a) => ({ ...a, challenges: a.challenges.map(({ processingSince: _since, ...c }) => c) }));
  const done = await atB.poll(authzUrl, (a) => a.status !== 'pending');
  assert.equal(done.status, 'valid');
  assert.equal(validatorB.calls.length, 1);
  release();
});

/** One app whose store refuses the first `refusals` writes of a validation's outcome, as a database that is down. */
async function refusingOutcomes(t: { after(fn: () => unknown): void }, refusals: number, deps: Partial<Parameters<typeof buildAcmeApp>[0]> = {}) {
  const env = await testEnv();
  t.after(() => env.cleanup());
  const state = { refusals };
  const store = new Proxy(sharedView(env.store, true), {
    get(target, key) {
      const v = Reflect.get(target, key) as unknown;
      if (key !== 'updateAuthorization') return v;
      return (id: string, fn: Parameters<AcmeStore['updateAuthorization']>[1]) =>
        target.updateAuthorization(id, (a) => {
          const next = fn(a);
          const outcome = next?.challenges.some((c) => c.status === 'valid' || c.status === 'invalid');
          if (outcome && state.refusals > 0) {
            state.refusals--;
            throw new Error('the database is unavailable');
          }
          return next;
        });
    },
  });
  const app = buildAcmeApp({ ...env.deps, store, ...deps });
  t.after(() => app.close());
  const c = await TestAcmeClient.create(injectTransport(app), BASE_URL + 'directory');
  assert.equal((await c.newAccount({ eab: env.eab[NODE_A.name] })).status, 201);
  return { env, c, state, ...(await c.http01(NODE_A.dns[0]!)) };
}

test('with a wait, a quick outcome the store cannot record in time is answered serverInternal (not pending), and recorded by the running retry', async (t) => {
  // Refused until the answer is out, whatever the machine's timing; then the retry records it.
  const { env, c, state, authzUrl, challengeUrl } = await refusingOutcomes(t, 1_000, { challengeWaitMs: 100 });
  const first = await c.post(challengeUrl, {});
  assert.equal(first.status, 500, first.body);
  assert.equal(first.json<{ type: string }>().type, 'urn:ietf:params:acme:error:serverInternal');
  state.refusals = 0;
  assert.equal((await c.poll(authzUrl, (a) => a.status !== 'pending')).status, 'valid');
  assert.equal(env.validator.calls.length, 1, 'the outcome was recorded, not validated again');
});

test('with a wait, an outcome that can never be recorded: responses repeated meanwhile wait for the running validation and are answered serverInternal, never pending; once it gave up, the next response validates again', async (t) => {
  const { env, c, state, authzUrl, challengeUrl } = await refusingOutcomes(t, 1_000, { challengeWaitMs: 100, validationTimeoutMs: 200 });
  const t0 = Date.now();
  assert.equal((await c.post(challengeUrl, {})).status, 500);
  // The first validation retries its write for its timeout and 5 s of grace (real time: under
  // load only later); responses meanwhile start nothing new.
  for (let i = 0; i < 60 && env.validator.calls.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const again = await c.post(challengeUrl, {});
    assert.equal(again.status, 500, again.body);
    assert.equal(again.json<{ type: string }>().type, 'urn:ietf:params:acme:error:serverInternal');
  }
  assert.equal(env.validator.calls.length, 2, 'validated again once the first validation gave up');
  assert.ok(Date.now() - t0 >= 3_000, 'no second validation while the first was still retrying');
  state.refusals = 0;
  assert.equal((await c.poll(authzUrl, (a) => a.status !== 'pending')).status, 'valid');
  assert.equal(env.validator.calls.length, 2);
});

test('an outcome the store cannot record at once (a shared database restarting) is recorded when it can: the client sees it without a second validation', async (t) => {
  const { env, c, state, authzUrl, challengeUrl } = await refusingOutcomes(t, 2);
  assert.equal((await c.post(challengeUrl, {})).json<{ status: string }>().status, 'processing');
  const done = await c.poll(authzUrl, (a) => a.status !== 'pending');
  assert.equal(done.status, 'valid');
  assert.equal(state.refusals, 0, 'both refused writes were tried again');
  assert.equal(env.validator.calls.length, 1, 'the outcome was recorded, not validated again');
});
