// The fastify wiring: content-type parsing, JWS authentication, Replay-Nonce and Link headers, one
// error handler rendering every failure as application/problem+json (RFC 8555 §6.7), and thin
// routes that call the ACME core (step-ca's api/handler.go shape).
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { accountForKid, accountHoldsCertificate, keyChange, newAccount, updateAccount } from '../accounts.js';
import { orderAuthorizations, ownedChallenge, respondToChallenge, resumeValidations, updateAuthorization } from '../authorizations.js';
import { isObject, type AcmeContext } from '../context.js';
import { parseUntrustedJson } from '../json.js';
import { verifyAcmeJws, type VerifiedJws } from '../jws.js';
import type { AccountRecord } from '../model.js';
import { HomeNonces, NonceStore } from '../nonces.js';
import { limitState } from '../limits.js';
import { finalizeOrder, leafLifetimePolicy, listedOrderIds, newOrder, ownedOrder } from '../orders.js';
import { AcmeProblem, problem } from '../problems.js';
import { revokeCertificate } from '../revocation.js';
import { renewalInfo } from '../ari.js';
import { CrlPublisher } from '../crl.js';
import { composeEvents, createObservability, registerObservabilityRoutes } from './metrics.js';
import { orderStatus } from '../status.js';
import type { AcmeDeps } from './app.js';
import { createLinks, PATHS } from './links.js';
import { lingerAfterResponse } from './connection.js';
import { renderAccount, renderAuthorization, renderChallenge, renderOrder } from './render.js';
import { normalizeSerial } from '../../ca/serial.js';

const JOSE = 'application/jose+json';
const PARSE_FAILED = Symbol('unparsable body');
/** A CSR (RSA 8192 with 100 names) or a certificate is a few KB; nothing legitimate comes near this. */
const BODY_LIMIT = 256 * 1024;

interface Authenticated {
  jws: VerifiedJws;
  account: AccountRecord | undefined;
}

/** A wiring mistake the operator must fix (exit code by `kind`, cli/errors.ts). */
/** A store another process holds the writer lock of: `io` (exit 7), like any locked file. */
export class AcmeSetupError extends Error {
  override readonly name = 'AcmeSetupError';
  readonly kind = 'io';
}

const publishers = new WeakMap<FastifyInstance, CrlPublisher>();

/**
 * No route declares a JSON schema: bodies are JWS checked by hand (RFC 8555 §6.2), responses are
 * rendered by render.ts. Without these factories fastify loads ajv and fast-json-stringify (about
 * a hundred modules, several MB of the issuer's memory) when it is created, for nothing; a route
 * that declares a schema is refused when it is registered instead of going unchecked.
 */
const noSchemaCompilers = {
  buildValidator: (): never => {
    throw new Error('a route declares a JSON schema: the ACME server has no schema validator (check the request by hand)');
  },
  buildSerializer: (): never => {
    throw new Error('a route declares a response schema: the ACME server has no schema serializer (render the response by hand)');
  },
};

/**
 * Regenerates the app's CRL now and serves it (after a revocation made outside ACME, e.g. by the
 * operator through the admin socket); false when the app serves no CRL.
 */
export async function publishCrlNow(app: FastifyInstance, why: string): Promise<boolean> {
  const crl = publishers.get(app);
  if (!crl) return false;
  await crl.refresh(why);
  return true;
}

/** Request lines are logged at debug: is this logger that verbose? */
const logsRequests = (log: { level: string }): boolean => log.level === 'debug' || log.level === 'trace';

/** Every error the server answers is a problem document (RFC 8555 §6.7, RFC 7807). */
function sendProblem(reply: FastifyReply, p: AcmeProblem, headers: Record<string, string> = {}): void {
  void reply.code(p.status).headers(headers).type('application/problem+json').send(Buffer.from(JSON.stringify(p.toDocument())));
}

export function createAcmeServer(deps: AcmeDeps): FastifyInstance {
  if (deps.store.readOnly) throw new AcmeSetupError('the ACME store is read-only here: another process (a running nixca serve?) is its writer');
  const links = createLinks(deps.baseUrl);
  const indexLink = `<${links.directory}>;rel="index"`;
  const nonces = deps.noncePeers ? new HomeNonces(deps.noncePeers, deps.nonces) : new NonceStore(deps.nonces);
  const eabRequired = deps.eabRequired ?? true;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: BODY_LIMIT,
    schemaController: { compilersFactory: noSchemaCompilers },
    // Never log bodies: they carry JWS, EAB MACs and CSRs. Log method, URL and User-Agent (§6.1).
    logController: new LogController({ disableRequestLogging: true }),
    // A child logger (with the request id) per request only when request lines are logged
    // (debug): above that, a request's rare error line goes to the server's logger as it is.
    childLoggerFactory: (logger, bindings, opts) => (logsRequests(logger) ? logger.child(bindings, opts) : logger),
    // The router's own refusals (bad percent-encoding, an over-long path segment) come before any
    // route, hook or error handler: written here as the problem documents every error is (§6.7),
    // with the nonce (§6.5) and index link (§7.1) that hooks add elsewhere.
    frameworkErrors: (err, _req, reply) => {
      const long = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const p = problem('malformed', long ? 'the URL has a path segment longer than any resource of this server' : 'the URL path is not valid percent-encoding', { status: long ? 414 : 400 });
      sendProblem(reply as unknown as FastifyReply, p, { 'Replay-Nonce': nonces.issue(), Link: indexLink });
    },
  }) as unknown as FastifyInstance;
  const ctx: AcmeContext = {
    store: deps.store,
    inventory: deps.inventory,
    signer: deps.signer,
    validator: deps.validator,
    eabRequired,
    lifetime: leafLifetimePolicy(deps.leafLifetime),
    now: deps.clock ?? (() => new Date()),
    orderLifetimeMs: deps.orderLifetimeMs ?? 86_400_000,
    authorizationLifetimeMs: deps.authorizationLifetimeMs ?? 86_400_000,
    validationTimeoutMs: deps.validationTimeoutMs ?? 30_000,
    finalizing: new Set(),
    replacing: new Set(),
    validations: new Map(),
    closing: new AbortController(),
    log: {
      info: (o, m) => app.log.info(o, m),
      warn: (o, m) => app.log.warn(o, m),
      error: (o, m) => app.log.error(o, m),
    },
    events: deps.events ?? {},
    limits: limitState(deps.limits),
    ...(deps.audit ? { audit: deps.audit } : {}),
  };
  const prefix = links.prefix;
  const challengeWaitMs = Math.max(0, deps.challengeWaitMs ?? 0);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JOSE, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseUntrustedJson(body as string, 'the request body'));
    } catch (err) {
      done(null, { [PARSE_FAILED]: err });
    }
  });

  // One access line per request at debug (the hook is not even installed above debug); issuance
  // events are logged once each at info.
  if (logsRequests(app.log)) {
    app.addHook('onResponse', (req, reply, done) => {
      req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ua: req.headers['user-agent'], ms: Math.round(reply.elapsedTime) }, 'request');
      done();
    });
  }

  const directoryRoute = prefix + PATHS.directory;
  const newNonceRoute = prefix + PATHS.newNonce;
  // One synchronous hook for both headers every response carries (no promise per request).
  app.addHook('onSend', (req, reply, payload, done) => {
    const route = req.routeOptions.url;
    // §6.5: a fresh nonce on every POST response and every error (Boulder sets it for all non-GET);
    // §7.2: on newNonce.
    if ((req.method !== 'GET' || reply.statusCode >= 400 || route === newNonceRoute) && !reply.hasHeader('Replay-Nonce')) {
      reply.header('Replay-Nonce', nonces.issue());
    }
    // §7.1: Link rel=index on every resource except the directory itself, errors included.
    if (route !== directoryRoute) {
      const prev = reply.getHeader('Link');
      reply.header('Link', prev ? [...(Array.isArray(prev) ? prev : [String(prev)]), indexLink] : indexLink);
    }
    done(null, payload);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let p: AcmeProblem;
    if (err instanceof AcmeProblem) {
      p = err;
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // fastify's own 4xx (415 media type, 413 body size, …): the client's fault, said as malformed.
      const detail =
        err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? `Content-Type must be ${JOSE} (RFC 8555 §6.2)`
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the request body exceeds ${BODY_LIMIT} bytes`
        : err.message;
      p = problem('malformed', detail, { status: err.statusCode });
      // The body was refused unread: drain it so the client reads this answer (no reset).
      lingerAfterResponse(req.raw);
    } else {
      // Never leak internals (fastify: one error handler that hides 5xx detail).
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'internal error');
      p = problem('serverInternal', 'internal server error');
    }
    obs.problem(p.problem, req.routeOptions.url ?? 'unrouted');
    if (p.status >= 500 && err instanceof AcmeProblem) req.log.error({ problem: p.problem, detail: p.message }, 'server problem');
    sendProblem(reply, p, p.headers);
  });

  app.setNotFoundHandler((_req, reply) => {
    sendProblem(reply, problem('malformed', 'no such resource', { status: 404 }));
  });

  // Bounded state: expired orders and authorizations leave the working set (nonces prune themselves).
  const pruneEveryMs = deps.pruneIntervalMs ?? 10 * 60_000;
  const pruner = setInterval(() => {
    ctx.store.prune(ctx.now()).catch((err: Error) => app.log.error({ err: err.message }, 'prune failed'));
  }, pruneEveryMs);
  pruner.unref();

  const crl = deps.crl ? new CrlPublisher(deps.store, deps.crl, ctx.now, ctx.log) : undefined;
  const obs = createObservability(ctx, { crl, intermediate: deps.intermediate, defaultMetrics: deps.processMetrics ?? false });
  ctx.events = composeEvents(obs.events, deps.events);
  registerObservabilityRoutes(app, { health: prefix + PATHS.health, metrics: deps.metrics === false ? null : prefix + PATHS.metrics }, ctx, obs, { crl, intermediate: deps.intermediate });
  if (crl) {
    publishers.set(app, crl);
    // At start: revocations may have been written by `nixca cert revoke` while we were stopped.
    app.addHook('onReady', async () => {
      await crl.refresh('start');
      crl.start();
    });
    // A shared store: revocations made by another instance or the CLI reach this CRL within seconds.
    const unwatch = deps.store.watchRevocations?.(() => void crl.check());
    if (unwatch) app.addHook('onClose', async () => unwatch());
  }

  app.addHook('onClose', async () => {
    crl?.stop();
    clearInterval(pruner);
    ctx.closing.abort();
    await Promise.allSettled([...ctx.validations.values()]);
  });

  /** JWS-authenticated POST (§6.2); `key` says whether jwk, kid or either is expected. */
  async function authenticate(req: FastifyRequest, key: 'jwk' | 'kid' | 'either'): Promise<Authenticated> {
    const ct = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== JOSE) throw problem('malformed', `Content-Type must be ${JOSE} (RFC 8555 §6.2)`, { status: 415 });
    if (req.body === undefined) throw problem('malformed', 'the request body is not JSON');
    if (isObject(req.body) && PARSE_FAILED in req.body) throw req.body[PARSE_FAILED] as AcmeProblem;
    let account: AccountRecord | undefined;
    const jws = await verifyAcmeJws(req.body, {
      url: links.requestUrl(req.url),
      key,
      redeemNonce: (n) => nonces.redeem(n),
      accountKey: async (kid) => {
        const id = links.accountIdOf(kid);
        if (id === undefined) throw problem('malformed', '"kid" is not an account URL of this server');
        account = await accountForKid(ctx, id);
        return { jwk: account.jwk, thumbprint: account.thumbprint };
      },
    });
    return { jws, account };
  }

  type Handler = (auth: Authenticated, req: FastifyRequest<{ Params: Record<string, string> }>, reply: FastifyReply) => Promise<unknown>;
  function post(path: string, key: 'jwk' | 'kid' | 'either', handler: Handler): void {
    app.post(prefix + path, async (req, reply) => handler(await authenticate(req, key), req as FastifyRequest<{ Params: Record<string, string> }>, reply));
    // §6.3: everything but the directory and newNonce is POST only (POST-as-GET for reads).
    app.get(prefix + path, { exposeHeadRoute: true }, async () => {
      throw problem('malformed', 'this resource only accepts POST (use POST-as-GET, RFC 8555 §6.3)', { status: 405, headers: { Allow: 'POST' } });
    });
  }
  const json = (reply: FastifyReply, code: number, body: unknown) => reply.code(code).type('application/json').send(Buffer.from(JSON.stringify(body)));
  const requirePostAsGet = (jws: VerifiedJws) => {
    if (jws.payloadText !== '') throw problem('malformed', 'this resource is read with POST-as-GET: the payload must be the empty string (RFC 8555 §6.3)');
  };

  // --- directory and nonces (§7.1.1, §7.2) ---
  const directory = () => ({
    newNonce: links.newNonce,
    newAccount: links.newAccount,
    newOrder: links.newOrder,
    revokeCert: links.revokeCert,
    keyChange: links.keyChange,
    // RFC 9773 §3: clients GET <renewalInfo>/<certID>.
    renewalInfo: links.renewalInfo,
    // newAuthz (pre-authorization) is not implemented, so not advertised (§7.1.1, notes §2.12.4).
    meta: { ...(deps.meta ?? {}), externalAccountRequired: eabRequired },
  });
  app.get(prefix + PATHS.directory, async (_req, reply) => json(reply, 200, directory()));
  // §6.3 / Pebble: the directory also answers POST-as-GET.
  app.post(prefix + PATHS.directory, async (_req, reply) => json(reply, 200, directory()));
  app.head(prefix + PATHS.newNonce, async (_req, reply) => reply.code(200).header('Cache-Control', 'no-store').send());
  app.get(prefix + PATHS.newNonce, { exposeHeadRoute: false }, async (_req, reply) => reply.code(204).header('Cache-Control', 'no-store').send());
  // §6.3: "The server MUST allow GET requests for the directory and newNonce resources, in addition
  // to POST-as-GET requests for these resources" (neither has access control to check).
  app.post(prefix + PATHS.newNonce, async (_req, reply) => reply.code(200).header('Cache-Control', 'no-store').send());

  // --- accounts (§7.3) ---
  post(PATHS.newAccount, 'jwk', async ({ jws }, req, reply) => {
    const { account, created } = await newAccount(ctx, jws, { clientIp: req.ip });
    reply.header('Location', links.account(account.id));
    return json(reply, created ? 201 : 200, renderAccount(account, links));
  });
  post(PATHS.account, 'kid', async ({ jws, account }, req, reply) => {
    if (account!.id !== req.params.id) throw problem('unauthorized', 'the "kid" account does not match the account URL');
    const updated = await updateAccount(ctx, account!, jws);
    return json(reply, 200, renderAccount(updated, links));
  });
  post(PATHS.accountOrders, 'kid', async ({ jws, account }, req, reply) => {
    requirePostAsGet(jws);
    if (account!.id !== req.params.id) throw problem('unauthorized', 'the "kid" account does not match the account URL');
    return json(reply, 200, { orders: (await listedOrderIds(ctx, account!)).map((id) => links.order(id)) });
  });
  post(PATHS.keyChange, 'kid', async ({ jws, account }, _req, reply) => {
    const updated = await keyChange(ctx, account!, jws, { accountUrl: links.account(account!.id), accountUrlOf: links.account });
    return json(reply, 200, renderAccount(updated, links));
  });

  // --- orders (§7.4) ---
  post(PATHS.newOrder, 'kid', async ({ jws, account }, _req, reply) => {
    const { order, authorizations } = await newOrder(ctx, account!, jws.payload);
    reply.header('Location', links.order(order.id));
    return json(reply, 201, renderOrder(ctx, order, authorizations, links));
  });
  const sendOrder = async (reply: FastifyReply, order: Awaited<ReturnType<typeof ownedOrder>>) => {
    const authzs = await orderAuthorizations(ctx, order);
    for (const a of authzs) resumeValidations(ctx, a);
    if (orderStatus(order, authzs, ctx.now(), ctx.finalizing.has(order.id)) === 'processing') reply.header('Retry-After', '1');
    return json(reply, 200, renderOrder(ctx, order, authzs, links));
  };
  post(PATHS.order, 'kid', async ({ jws, account }, req, reply) => {
    requirePostAsGet(jws);
    return sendOrder(reply, await ownedOrder(ctx, account!, req.params.id!));
  });
  post(PATHS.finalize, 'kid', async ({ jws, account }, req, reply) => {
    const order = await finalizeOrder(ctx, account!, req.params.id!, jws.payload);
    // No Location: Pebble removed it so clients stop relying on it (notes §2.5).
    return sendOrder(reply, order);
  });

  // --- authorizations and challenges (§7.5) ---
  post(PATHS.authz, 'kid', async ({ jws, account }, req, reply) => {
    const authz = await updateAuthorization(ctx, account!, req.params.id!, jws.payloadText, jws.payload);
    if (authz.challenges.some((c) => c.status === 'processing')) reply.header('Retry-After', '1');
    return json(reply, 200, renderAuthorization(ctx, authz, links));
  });
  post(PATHS.challenge, 'kid', async ({ jws, account }, req, reply) => {
    // A quick validation (loopback, LAN) is waited for briefly: the answer is then final.
    const { authz, challenge } = jws.payloadText === ''
      ? await ownedChallenge(ctx, account!, req.params.authzId!, req.params.challengeId!)
      : await respondToChallenge(ctx, account!, req.params.authzId!, req.params.challengeId!, jws.payloadText, jws.payload, challengeWaitMs);
    if (challenge.status === 'processing') reply.header('Retry-After', '1');
    // §7.5.1: Link rel=up to the parent authorization.
    reply.header('Link', `<${links.authz(authz.id)}>;rel="up"`);
    return json(reply, 200, renderChallenge(authz, challenge, links));
  });

  // --- certificates (§7.4.2, §7.6) ---
  post(PATHS.certificate, 'kid', async ({ jws, account }, req, reply) => {
    requirePostAsGet(jws);
    const serial = normalizeSerial(req.params.serial!);
    const record = serial ? await ctx.store.getCertificate(serial) : undefined;
    const chain = record && (await ctx.store.getCertificateChain(serial));
    if (!record || !chain) throw problem('malformed', 'no such certificate', { status: 404 });
    if (!accountHoldsCertificate(account!, record)) {
      throw problem('unauthorized', 'this certificate belongs to another account');
    }
    return reply.code(200).type('application/pem-certificate-chain').send(Buffer.from(chain));
  });
  post(PATHS.revokeCert, 'either', async ({ jws, account }, _req, reply) => {
    await revokeCertificate(ctx, jws, account);
    // The revocation is committed; the CRL that lists it is served before we answer (a client that
    // revokes and then fetches the CRL sees its revocation). A signing failure is logged, and the
    // hourly check retries.
    await crl?.refresh('revocation').catch((err: Error) => app.log.error({ err: err.message }, 'CRL regeneration failed'));
    return reply.code(200).send();
  });

  // --- CRL (RFC 5280 §5): unauthenticated GET, DER (RFC 5280 §4.2.1.13 "application/pkix-crl") ---
  if (crl) {
    app.get(prefix + PATHS.crl, async (_req, reply) => {
      const cur = crl.current();
      if (!cur) throw problem('serverInternal', 'no CRL could be signed yet (see the issuer log)', { status: 503 });
      // Short caching: a revocation replaces the CRL at once.
      return reply.code(200).type('application/pkix-crl').header('Cache-Control', 'public, max-age=60').header('Last-Modified', cur.thisUpdate.toUTCString()).send(Buffer.from(cur.der));
    });
  }

  // --- ARI (RFC 9773 §4): unauthenticated GET, no nonce needed ---
  app.get(prefix + PATHS.renewalInfoCert, async (req, reply) => {
    const ua = req.headers['user-agent'];
    const info = await renewalInfo(ctx, (req.params as { certId: string }).certId, typeof ua === 'string' ? { userAgent: ua } : {});
    reply.header('Retry-After', String(info.retryAfter));
    return json(reply, 200, info.body);
  });

  return app;
}
