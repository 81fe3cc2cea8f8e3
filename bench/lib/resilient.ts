// An issuance that survives its server being killed (for test/crash): on a transport error it
// waits for the server to come back, then resumes from what the server says about its objects,
// as a real ACME client would after a restart (RFC 8555 §7.1.3/§7.4: an order's status tells the
// client what is next): pending → validate, ready → finalize, processing → poll, valid → download,
// invalid or unknown → start a new order. Accounts are found again by key (§7.3.1: newAccount with
// a known key returns the existing account).
import { performance } from 'node:perf_hooks';
import type acme from 'acme-client';
import { FlowClient, type FlowOptions, type Prepared } from './flow.js';

export interface ResilientResult {
  name: string;
  ok: boolean;
  chainPem?: string;
  error?: string;
  /** Transport errors survived (the server died under us). */
  interruptions: number;
  /** Orders created (more than 1: an order was abandoned and a new one started). */
  orders: number;
  /** Every error message seen, in order (for diagnostics). */
  trail: string[];
}

const isTransport = (err: unknown) => /transport error|socket hang up|ECONNRE|EPIPE|ETIMEDOUT|timeout/i.test(String((err as Error)?.message ?? err));

/**
 * `opts.timeoutMs` bounds each attempt's polling: an order whose authorization or finalization
 * makes no progress for that long is abandoned and a new order started (what a real client does).
 */
export async function resilientFlow(
  prep: Prepared,
  opts: FlowOptions,
  waitForServer: () => Promise<void>,
  maxAttempts = 30,
): Promise<ResilientResult> {
  const res: ResilientResult = { name: prep.name, ok: false, interruptions: 0, orders: 0, trail: [] };
  let fc = new FlowClient(prep, opts);
  const published = new Set<string>();
  const release = () => {
    for (const t of fc.tokens) published.add(t);
    for (const t of published) opts.responder.delete(t);
  };
  let accountUrl: string | undefined;
  let order: acme.Order | undefined;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const deadline = performance.now() + opts.timeoutMs;
    try {
      if (!accountUrl) {
        await fc.client.createAccount({ termsOfServiceAgreed: true });
        accountUrl = fc.client.getAccountUrl();
      }
      if (order) {
        try {
          order = { ...(await fc.client.getOrder(order)), url: order.url };
        } catch (err) {
          if (isTransport(err)) throw err;
          // The server does not know the order (lost before it was durable): start a new one.
          res.trail.push(`order lookup: ${(err as Error).message}`);
          order = undefined;
        }
        if (order?.status === 'invalid') {
          res.trail.push(`order ${order.url} is invalid: starting a new one`);
          order = undefined;
        }
      }
      if (!order) {
        order = await fc.client.createOrder({ identifiers: [{ type: 'dns', value: prep.name }] });
        res.orders += 1;
      }
      if (order.status === 'pending') {
        await fc.validate(order, deadline);
        order = { ...(await fc.client.getOrder(order)), url: order.url };
      }
      const fin = await fc.finalize(order, deadline);
      res.chainPem = String(await fc.client.getCertificate(fin));
      res.ok = true;
      release();
      fc.destroy();
      return res;
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      res.trail.push(msg);
      if (isTransport(err)) {
        res.interruptions += 1;
        // Keep serving its key authorizations: the restarted server may resume a validation.
        for (const t of fc.tokens) published.add(t);
        fc.destroy();
        await waitForServer();
        // A new client object: fresh socket and nonce; the account is found again by its key.
        fc = new FlowClient(prep, opts, accountUrl);
        continue;
      }
      if (order && /became invalid|still '\w+' after/.test(msg)) {
        order = undefined;
        continue;
      }
      res.error = msg;
      release();
      fc.destroy();
      return res;
    }
  }
  res.error = `gave up after ${maxAttempts} attempts: ${res.trail.at(-1)}`;
  release();
  fc.destroy();
  return res;
}
