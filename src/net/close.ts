// Closing a listener without cutting answers short: stop accepting, drop idle keep-alive
// connections at once, let in-flight requests finish, and cut what is left after a grace period.
import type { Server } from 'node:http';

export async function closeGracefully(server: Server, graceMs = 5000): Promise<void> {
  const closing = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), graceMs);
  force.unref();
  await closing;
  clearTimeout(force);
}
