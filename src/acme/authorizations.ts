// Authorizations and challenges (RFC 8555 §7.5): POST-as-GET, client deactivation (§7.5.2), and
// the response to a challenge (§7.5.1), which starts an asynchronous validation (§8.2).
import { setTimeout as sleep } from 'node:timers/promises';
import { keyAuthorization, type ValidationOutcome } from './challenges.js';
import { emit, isObject, type AcmeContext } from './context.js';
import type { AccountRecord, AuthorizationRecord, ChallengeRecord, OrderRecord, OrderStatus } from './model.js';
import { problem, problemDocument } from './problems.js';
import { authorizationStatus, findChallenge, orderStatus } from './status.js';

/** The order's authorizations still in the store (a pruned one makes the order invalid). */
export async function orderAuthorizations(ctx: AcmeContext, order: OrderRecord, current = false): Promise<AuthorizationRecord[]> {
  const out: AuthorizationRecord[] = [];
  for (const id of order.authorizationIds) {
    const a = await ctx.store.getAuthorization(id, current ? { current } : undefined);
    if (a) out.push(a);
  }
  return out;
}

/** §7.1.6: the order's status now, derived from its authorizations (and a finalize running here). */
export async function currentOrderStatus(ctx: AcmeContext, order: OrderRecord, current = false): Promise<OrderStatus> {
  return orderStatus(order, await orderAuthorizations(ctx, order, current), ctx.now(), ctx.finalizing.has(order.id));
}

export async function ownedAuthorization(ctx: AcmeContext, account: AccountRecord, id: string): Promise<AuthorizationRecord> {
  const authz = await ctx.store.getAuthorization(id);
  if (!authz) throw problem('malformed', 'no such authorization (it may have expired and been pruned)', { status: 404 });
  if (authz.accountId !== account.id) throw problem('unauthorized', 'this authorization belongs to another account');
  resumeValidations(ctx, authz);
  return authz;
}

/** POST to the authorization URL: POST-as-GET, or {"status":"deactivated"} (§7.5.2). */
export async function updateAuthorization(ctx: AcmeContext, account: AccountRecord, id: string, payloadText: string, payload: unknown): Promise<AuthorizationRecord> {
  const authz = await ownedAuthorization(ctx, account, id);
  if (payloadText === '') return authz;
  if (!isObject(payload) || payload.status !== 'deactivated') {
    throw problem('malformed', 'an authorization update may only be {"status":"deactivated"} (RFC 8555 §7.5.2)');
  }
  const st = authorizationStatus(authz, ctx.now());
  if (st !== 'valid' && st !== 'pending') throw problem('malformed', `a ${st} authorization cannot be deactivated`);
  const updated = await ctx.store.updateAuthorization(id, (a) => ({ ...a, deactivated: true }));
  return updated ?? authz;
}

export async function ownedChallenge(ctx: AcmeContext, account: AccountRecord, authzId: string, challengeId: string): Promise<{ authz: AuthorizationRecord; challenge: ChallengeRecord }> {
  const authz = await ownedAuthorization(ctx, account, authzId);
  const challenge = findChallenge(authz, challengeId);
  if (!challenge) throw problem('malformed', 'no such challenge', { status: 404 });
  return { authz, challenge };
}

/**
 * POST to a challenge URL. POST-as-GET ("") only reads (notes §2.4: fetching must not start
 * validation). Any JSON object (normally {}; step-ca tolerates vestigial fields from old clients,
 * so do we) starts validation of a pending challenge: answered `processing` at once, or, with
 * `waitMs`, after up to that long (validateWithin).
 */
export async function respondToChallenge(
  ctx: AcmeContext,
  account: AccountRecord,
  authzId: string,
  challengeId: string,
  payloadText: string,
  payload: unknown,
  waitMs = 0,
): Promise<{ authz: AuthorizationRecord; challenge: ChallengeRecord }> {
  const found = await ownedChallenge(ctx, account, authzId, challengeId);
  if (payloadText === '') return found;
  if (!isObject(payload)) throw problem('malformed', 'a challenge response must be a JSON object, normally {} (RFC 8555 §7.5.1)');
  if (found.challenge.status !== 'pending') return found;
  const st = authorizationStatus(found.authz, ctx.now());
  if (st !== 'pending') throw problem('malformed', `the authorization is ${st}; its challenges can no longer be attempted`);
  // A response repeated while validateWithin waits for this challenge's validation: the same wait.
  const running = ctx.validations.get(challengeId);
  if (running && waitMs > 0) {
    await settlesWithin(running, waitMs);
    return recorded(await current(ctx, found));
  }
  // §7.1.6: one attempt per authorization at a time; the first challenge answered wins. A
  // validation running here counts as one.
  if (found.authz.challenges.some((c) => c.status === 'processing' || ctx.validations.has(c.id))) return found;
  if (waitMs > 0) return validateWithin(ctx, account, found, waitMs);
  const since = ctx.now().toISOString();
  const authz = await markProcessing(ctx, authzId, challengeId, since);
  if (!authz) return current(ctx, found);
  startValidation(ctx, authz, challengeId, account);
  return { authz, challenge: findChallenge(authz, challengeId) ?? found.challenge };
}

/** Records the challenge `processing` since `since`; undefined when another attempt came first. */
function markProcessing(ctx: AcmeContext, authzId: string, challengeId: string, since: string): Promise<AuthorizationRecord | undefined> {
  return ctx.store.updateAuthorization(authzId, (a) => {
    const c = findChallenge(a, challengeId);
    if (!c || c.status !== 'pending' || a.challenges.some((x) => x.status === 'processing')) return undefined;
    return { ...a, challenges: a.challenges.map((x) => (x.id === challengeId ? { ...x, status: 'processing' as const, processingSince: since } : x)) };
  });
}

/**
 * Validates at once and waits up to `waitMs` for it. A quick validation (loopback, LAN) is
 * recorded once, pending → valid or invalid, and answered final: one write where there were two,
 * and no Retry-After for the client to sit out. A slower one is recorded `processing` (since its
 * start) when the wait ends, answered so, and finishes on its own. Every answer reflects what is
 * recorded; a crash during the wait leaves the challenge pending and the client without an
 * answer, so it responds again (§7.5.1).
 */
async function validateWithin(ctx: AcmeContext, account: AccountRecord, found: { authz: AuthorizationRecord; challenge: ChallengeRecord }, waitMs: number) {
  const { authz, challenge } = found;
  const since = ctx.now().toISOString();
  let decided: 'quick' | 'slow' | undefined;
  let marked: Promise<AuthorizationRecord | undefined> | undefined;
  // Called with the outcome known, before it is recorded: whichever of this and the wait's end
  // comes first decides (one thread: no interleaving between the test and the assignment). Says
  // what the challenge must still be for the outcome to be recorded over it.
  const recordFrom = async (): Promise<RecordFrom> => {
    if (decided === undefined) {
      decided = 'quick';
      return 'pending';
    }
    // Slow: over our own `processing`; if another attempt was recorded first, not at all; if the
    // mark could not be written, over `pending` (first recorded wins).
    const mine = await marked!.then((a) => (a ? 'processing' : 'lost'), () => 'pending' as const);
    return mine === 'lost' ? false : mine;
  };
  const run = startValidation(ctx, authz, challenge.id, account, recordFrom);
  const settled = await settlesWithin(run, waitMs);
  if (decided === undefined) {
    decided = 'slow';
    marked = markProcessing(ctx, authz.id, challenge.id, since);
    const processing = await marked;
    if (processing) return { authz: processing, challenge: findChallenge(processing, challenge.id) ?? challenge };
    return current(ctx, found);
  }
  // The outcome is known; a store slow to write gets a little more time.
  if (!settled) await settlesWithin(run, waitMs);
  return recorded(await current(ctx, found));
}

/**
 * A quick outcome's answer: if nothing is recorded yet (the store refused the write), saying
 * `pending` would leave the client polling a challenge nobody validates; an error makes it
 * respond again (a retry still running records meanwhile).
 */
function recorded<T extends { authz: AuthorizationRecord; challenge: ChallengeRecord }>(answer: T): T {
  if (answer.challenge.status === 'pending' && answer.authz.challenges.every((c) => c.status === 'pending')) {
    throw problem('serverInternal', 'the validation result could not be recorded; respond to the challenge again');
  }
  return answer;
}

/** The challenge as stored now (a copy of this process is as fresh as its own writes). */
async function current(ctx: AcmeContext, found: { authz: AuthorizationRecord; challenge: ChallengeRecord }) {
  const authz = (await ctx.store.getAuthorization(found.authz.id)) ?? found.authz;
  return { authz, challenge: findChallenge(authz, found.challenge.id) ?? found.challenge };
}

/** True when `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([p.then(() => true, () => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return settled;
}

/** How long past its validation timeout a `processing` challenge may still belong to another instance. */
const ORPHAN_GRACE_MS = 5_000;

/**
 * A challenge left `processing` with no validation of ours: on a store only this process serves,
 * it was started before a restart; on a shared store another instance may be validating it right
 * now (the client polls wherever its load balancer sends it), and only one that has been
 * processing longer than a validation may take is orphaned (its instance died or restarted). A
 * second validation from another vantage point could decide the authorization differently from
 * the one the client's response started (RFC 8555 §7.5.1).
 */
function isOrphaned(ctx: Pick<AcmeContext, 'store' | 'validationTimeoutMs' | 'now'>, c: ChallengeRecord): boolean {
  if (!ctx.store.sharedByInstances) return true;
  const since = c.processingSince ? Date.parse(c.processingSince) : NaN;
  return !(ctx.now().getTime() - since < ctx.validationTimeoutMs + ORPHAN_GRACE_MS);
}

/** Challenges left `processing` with no running validation and no other instance on them: start them again. */
export function resumeValidations(ctx: AcmeContext, authz: AuthorizationRecord): void {
  for (const c of authz.challenges) {
    if (c.status === 'processing' && !ctx.validations.has(c.id) && !ctx.closing.signal.aborted && isOrphaned(ctx, c)) startValidation(ctx, authz, c.id);
  }
}

/** What a challenge must still be for an outcome to be recorded over it; false: not recorded. */
type RecordFrom = 'pending' | 'processing' | false;

function startValidation(ctx: AcmeContext, authz: AuthorizationRecord, challengeId: string, account?: AccountRecord, recordFrom?: () => Promise<RecordFrom>): Promise<void> {
  const running = ctx.validations.get(challengeId);
  if (running) return running;
  const run = validate(ctx, authz, challengeId, account, recordFrom)
    .catch((err) => {
      // Closing: the outcome's write was given up on purpose (the challenge waits for a restart).
      ctx.log[ctx.closing.signal.aborted ? 'warn' : 'error']({ err: (err as Error).message, challenge: challengeId }, 'validation bookkeeping failed');
    })
    .finally(() => ctx.validations.delete(challengeId));
  ctx.validations.set(challengeId, run);
  return run;
}

async function validate(ctx: AcmeContext, authz: AuthorizationRecord, challengeId: string, knownAccount?: AccountRecord, recordFrom?: () => Promise<RecordFrom>): Promise<void> {
  const challenge = findChallenge(authz, challengeId)!;
  const account = knownAccount ?? (await ctx.store.getAccount(authz.accountId));
  if (!account) return;
  const started = Date.now();
  const keyAuth = keyAuthorization(challenge.token, account.thumbprint);
  // One controller, strongly held by the timer and by the app's closing signal (Node 20's
  // AbortSignal.any holds its result weakly: with a validator that never settles it can be
  // collected and never fire).
  const controller = new AbortController();
  const onClosing = () => controller.abort();
  ctx.closing.signal.addEventListener('abort', onClosing, { once: true });
  const timer = setTimeout(() => controller.abort(), ctx.validationTimeoutMs);
  let outcome: ValidationOutcome;
  try {
    outcome = await new Promise<ValidationOutcome>((resolve, reject) => {
      // A validator that ignores its signal still cannot hold the challenge in `processing` forever.
      controller.signal.addEventListener(
        'abort',
        () => resolve({ valid: false, problem: { type: 'connection', detail: `validation timed out after ${ctx.validationTimeoutMs} ms` } }),
        { once: true },
      );
      ctx.validator
        .validate({ type: challenge.type, identifier: authz.identifier.value, token: challenge.token, keyAuthorization: keyAuth }, controller.signal)
        .then(resolve, reject);
    });
  } catch (err) {
    outcome = { valid: false, problem: { type: 'serverInternal', detail: 'the validator failed unexpectedly' } };
    ctx.log.error({ err: (err as Error).message, challenge: challengeId }, 'validator threw');
  } finally {
    clearTimeout(timer);
    ctx.closing.signal.removeEventListener('abort', onClosing);
  }
  // Closing the app is not the client's failure: leave the challenge processing, a restart resumes it.
  if (ctx.closing.signal.aborted) return;
  const from = recordFrom ? await recordFrom() : 'processing';
  const fields = { challenge: challengeId, type: challenge.type, identifier: authz.identifier.value, account: authz.accountId, ms: Date.now() - started };
  if (!from || !(await recordOutcome(ctx, authz.id, challengeId, outcome, started, from))) {
    ctx.log.info({ ...fields, valid: outcome.valid }, 'validation outcome not recorded: another attempt decided the challenge first');
    return;
  }
  await emit(ctx, 'validationFinished', {
    type: challenge.type,
    identifier: authz.identifier.value,
    valid: outcome.valid,
    ...(outcome.valid ? {} : { problem: outcome.problem.type }),
    ms: fields.ms,
  });
  // A failed validation is what an operator looks for when a node cannot renew: warn, with the reason.
  if (outcome.valid) ctx.log.info({ ...fields, valid: true }, 'challenge validated');
  else ctx.log.warn({ ...fields, valid: false, problem: outcome.problem.type, detail: outcome.problem.detail }, 'challenge validation failed');
}

/** First wait between two tries to record an outcome; doubled each time, up to RECORD_RETRY_MAX_MS. */
const RECORD_RETRY_MS = 250;
const RECORD_RETRY_MAX_MS = 4_000;

/**
 * Writes the validation's outcome (§7.5.1: the challenge becomes valid or invalid). A store that
 * cannot be written right now (a shared database restarting) is tried again until it can, for as
 * long as the challenge may stay `processing` before other instances treat it as orphaned: the
 * outcome is known, and dropping it would leave the client polling a challenge nobody validates.
 */
async function recordOutcome(ctx: AcmeContext, authzId: string, challengeId: string, outcome: ValidationOutcome, started: number, from: 'pending' | 'processing'): Promise<boolean> {
  const now = ctx.now();
  const write = () => ctx.store.updateAuthorization(authzId, (a) => {
    const c = findChallenge(a, challengeId);
    if (!c || c.status !== from) return undefined;
    // Over `pending` (validateWithin, nothing recorded yet): only while no challenge of the
    // authorization has been attempted (§7.1.6), so the first one recorded decides.
    if (from === 'pending' && !a.challenges.every((x) => x.status === 'pending')) return undefined;
    const done: ChallengeRecord = outcome.valid
      ? { ...c, status: 'valid', validated: now.toISOString() }
      : { ...c, status: 'invalid', error: problemDocument(outcome.problem.type, outcome.problem.detail, { type: 'dns', value: a.identifier.value }) };
    // §7.1.4: a valid authorization's `expires` is the end of its usefulness.
    const expires = outcome.valid ? new Date(now.getTime() + ctx.authorizationLifetimeMs).toISOString() : a.expires;
    return { ...a, expires, challenges: a.challenges.map((x) => (x.id === challengeId ? done : x)) };
  });
  for (let wait = RECORD_RETRY_MS; ; wait = Math.min(wait * 2, RECORD_RETRY_MAX_MS)) {
    try {
      return (await write()) !== undefined;
    } catch (err) {
      const giveUp = ctx.closing.signal.aborted || Date.now() - started + wait > ctx.validationTimeoutMs + ORPHAN_GRACE_MS;
      if (giveUp) throw err;
      ctx.log.warn({ err: (err as Error).message, challenge: challengeId, retryInMs: wait }, 'the validation outcome could not be recorded; trying again');
      // Closing the app ends the wait (a processing challenge stays so; a restart resumes it).
      await sleep(wait, undefined, { signal: ctx.closing.signal }).catch(() => undefined);
      if (ctx.closing.signal.aborted) throw err;
    }
  }
}
