// Placeholder wiring; replaced by the full route set in the next commit.
import Fastify, { type FastifyInstance } from 'fastify';
import type { AcmeDeps } from './app.js';

export function createAcmeServer(deps: AcmeDeps): FastifyInstance {
  const app = Fastify({ logger: deps.logger ?? false });
  return app;
}
