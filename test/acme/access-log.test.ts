// The per-request access line is a debug line (with fastify's request id); at info there is none,
// and no per-request child logger is made (errors still reach the log).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { BASE_URL, testEnv } from './helpers/deps.js';

for (const level of ['debug', 'info'] as const) {
  test(`access lines at log level ${level}`, async (t) => {
    const lines: Array<Record<string, unknown>> = [];
    const env = await testEnv({ logger: { level, stream: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } } });
    const app = buildAcmeApp(env.deps);
    t.after(async () => {
      await app.close();
      await env.cleanup();
    });
    const res = await app.inject({ method: 'GET', url: new URL('directory', BASE_URL).pathname });
    assert.equal(res.statusCode, 200);
    const nonce = await app.inject({ method: 'HEAD', url: new URL('new-nonce', BASE_URL).pathname });
    assert.ok(nonce.headers['replay-nonce'], 'Replay-Nonce on newNonce');
    assert.match(String(nonce.headers.link), /rel="index"/);
    const access = lines.filter((l) => l.msg === 'request');
    if (level === 'debug') {
      assert.equal(access.length, 2, JSON.stringify(lines));
      assert.equal(access[0]!.status, 200);
      assert.ok(access[0]!.reqId, 'the request id is bound');
    } else {
      assert.equal(access.length, 0, JSON.stringify(access));
    }
  });
}
