// Connection-level limits of the ACME listener: how many connections, how long a client may take
// to send headers and a request, how long an idle keep-alive connection is kept, and a lingering
// close so a client whose body is refused still reads the answer.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Concurrent connections accepted; further ones are closed at once by node (default 1024). */
  maxConnections: number;
  /** Time to receive a request's headers (default 10 s). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body (default 30 s). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (default 5 s; ACME clients poll about every second). */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * Options for http(s).createServer: the timeouts, and how often node checks them (by default every
 * 30 s, which would let a client that never finishes its headers hold a connection that long).
 */
export function connectionServerOptions(limits: Partial<ConnectionLimits> = {}) {
  const l = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  return {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 2))),
  };
}

/** Applies the limits to a node http(s) server created with connectionServerOptions. */
export function applyConnectionLimits(server: Server, limits: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const l = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  server.maxConnections = l.maxConnections;
  server.headersTimeout = l.headersTimeoutMs;
  server.requestTimeout = l.requestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  return l;
}

/** How long, and how many bytes, a refused request's remaining body is read and discarded. */
const LINGER_MS = 5_000;
const LINGER_BYTES = 64 * 1024 * 1024;

/**
 * RFC 9112 §9.6: a server that answers before reading the whole request and then closes at once
 * makes the client's TCP stack reset the connection (unread data), and the client loses the
 * answer (e.g. a 413). So the rest of the body is read and discarded, and the socket is closed
 * only after the response, once the client has sent everything (or after a bound).
 */
export function lingerAfterResponse(req: IncomingMessage): void {
  const socket = req.socket as (Socket & { destroySoon?: () => void }) | undefined;
  // Injected requests (tests) have no real socket to drain.
  if (req.complete || typeof socket?.destroy !== 'function' || typeof socket.end !== 'function') return;
  let seen = 0;
  const drop = () => socket.destroy();
  const timer = setTimeout(drop, LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > LINGER_BYTES) drop();
  });
  req.once('end', () => setImmediate(drop));
  req.resume();
  // node ends a Connection: close response with destroySoon(): FIN, then destroy as soon as the
  // write side finishes. Keep the read side open until the body has been drained instead.
  socket.destroySoon = () => {
    socket.end();
  };
}
