// http-01 validation (RFC 8555 §8.3): the issuer, acting as an HTTP client, fetches
// http://<identifier>:<port>/.well-known/acme-challenge/<token> and compares the body with the key
// authorization. The issuer never asks the system for the address: the caller passes the IP it
// got from the configured resolver (split-horizon DNS / --resolve), so the connection goes only
// where the operator's resolver says (docs/serving.md, "Threat model of validation").
import { request, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

import type { ValidationProblemType } from './challenges.js';

/** Why one attempt failed; `retryable` failures (network) may be retried inside `processing` (§8.2). */
export interface AttemptFailure {
  ok: false;
  type: ValidationProblemType;
  detail: string;
  retryable: boolean;
}
export type AttemptResult = { ok: true; address: string } | AttemptFailure;

export interface Http01Params {
  /** The DNS identifier being validated (also the Host header). */
  identifier: string;
  token: string;
  keyAuthorization: string;
  /** Address to connect to, from the configured resolver. */
  address: string;
  port: number;
  timeoutMs: number;
  /** The core gives up (shutdown, challenge no longer wanted): the attempt ends at once. */
  signal?: AbortSignal;
}

/**
 * Enough for a key authorization (43-char token + '.' + 43-char thumbprint, plus whitespace) with
 * a wide margin; a larger body is not a key authorization, so we stop reading (no memory blow-up).
 */
export const HTTP01_MAX_BODY = 4096;
/** Redirects are followed only to the same host and port (see followRedirect), at most this many times. */
export const HTTP01_MAX_REDIRECTS = 3;

export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';

function hostHeader(identifier: string, port: number): string {
  return port === 80 ? identifier : `${identifier}:${port}`;
}

/** Network-level failure codes → the RFC 8555 `connection` type with a readable detail. */
export function describeNetworkError(err: unknown, where: string): AttemptFailure {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const msg = (err as Error).message ?? String(err);
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'timed out',
    EPIPE: 'connection closed',
  };
  const reason = reasons[code] ?? msg;
  return { ok: false, type: 'connection', detail: `${where}: ${reason}`, retryable: true };
}

/**
 * Decides whether a redirect may be followed. RFC 8555 §8.3 lets the server follow redirects; we
 * follow only relative redirects or absolute http:// ones to the same identifier and the same port,
 * so a challenge response can never steer the issuer to another host or port (SSRF, §10.4) and the
 * address stays the one the resolver gave.
 */
function followRedirect(location: string, currentUrl: URL): URL | string {
  let next: URL;
  try {
    next = new URL(location, currentUrl);
  } catch {
    return `redirect to an invalid URL`;
  }
  if (next.protocol !== 'http:') return `redirect to ${next.protocol} is not followed (only same-host http redirects are)`;
  if (next.hostname.toLowerCase() !== currentUrl.hostname.toLowerCase() || next.port !== currentUrl.port) {
    return `redirect to another host or port (${next.host}) is not followed`;
  }
  return next;
}

function getOnce(url: URL, address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<{ res: IncomingMessage; body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: address,
      port,
      path: url.pathname + url.search,
      method: 'GET',
      headers: { Host: hostHeader(url.hostname, port), 'User-Agent': 'nixca-validator', Accept: '*/*', Connection: 'close' },
      signal,
      timeout: timeoutMs,
      agent: false,
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (c: Buffer) => {
        if (truncated) return;
        size += c.length;
        if (size > HTTP01_MAX_BODY) {
          truncated = true;
          chunks.push(c.subarray(0, HTTP01_MAX_BODY - (size - c.length)));
          resolve({ res, body: Buffer.concat(chunks), truncated });
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks), truncated }));
      res.on('error', reject);
    });
    req.end();
  });
}

/** One http-01 attempt against one address (the caller tries each resolved address and retries). */
export async function validateHttp01(p: Http01Params): Promise<AttemptResult> {
  const ac = new AbortController();
  // One deadline for the whole attempt, redirects included (a slow-drip body cannot hold us forever).
  const timer = setTimeout(() => ac.abort(), p.timeoutMs);
  const cancel = () => ac.abort();
  p.signal?.addEventListener('abort', cancel, { once: true });
  const target = isIP(p.address) === 6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
  try {
    let url = new URL(`http://${p.identifier}:${p.port}${ACME_CHALLENGE_PATH}${p.token}`);
    for (let hop = 0; ; hop++) {
      let got;
      try {
        got = await getOnce(url, p.address, p.port, p.timeoutMs, ac.signal);
      } catch (err) {
        if (p.signal?.aborted) return { ok: false, type: 'connection', detail: `validation of ${p.identifier} was cancelled`, retryable: false };
        if (ac.signal.aborted) return { ok: false, type: 'connection', detail: `${target}: timed out after ${p.timeoutMs} ms fetching ${url.pathname}`, retryable: true };
        return describeNetworkError(err, `fetching http://${p.identifier}${url.pathname} from ${target}`);
      }
      const status = got.res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status)) {
        if (hop >= HTTP01_MAX_REDIRECTS) return { ok: false, type: 'connection', detail: `too many redirects (more than ${HTTP01_MAX_REDIRECTS})`, retryable: false };
        const next = followRedirect(String(got.res.headers.location ?? ''), url);
        if (typeof next === 'string') return { ok: false, type: 'connection', detail: `${target} answered ${status}: ${next}`, retryable: false };
        url = next;
        continue;
      }
      if (status !== 200) {
        // As Boulder and Pebble do: a non-200 answer means the requester does not control the
        // challenge path (typically 404), which RFC 8555 §6.7 calls `unauthorized`.
        return { ok: false, type: 'unauthorized', detail: `http://${p.identifier}${url.pathname} (at ${target}) answered HTTP ${status}, expected 200 with the key authorization`, retryable: false };
      }
      if (got.truncated) {
        return { ok: false, type: 'incorrectResponse', detail: `the response body is larger than ${HTTP01_MAX_BODY} bytes, not a key authorization`, retryable: false };
      }
      // §8.3: "The server SHOULD ignore whitespace characters at the end of the body".
      const body = got.body.toString('utf8').replace(/\s+$/, '');
      if (body !== p.keyAuthorization) {
        // The body is not echoed back: it could be content of an internal server (SSRF, §10.4).
        return { ok: false, type: 'incorrectResponse', detail: `the body at http://${p.identifier}${url.pathname} (${got.body.length} bytes) is not the expected key authorization`, retryable: false };
      }
      return { ok: true, address: p.address };
    }
  } finally {
    clearTimeout(timer);
    p.signal?.removeEventListener('abort', cancel);
  }
}
