// What a running `nixca serve` has loaded. Every module stays resident for the life of the issuer
// (its source text, bytecode and closures), so code the embedded store's issuance never runs is
// not loaded: node-postgres comes only with --store, fastify's schema compilers (ajv,
// fast-json-stringify) never, since no route declares a schema (docs/performance.md "Memory").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNixca } from '../../bench/lib/nixca.js';
import { buildAcmeApp } from '../../src/acme/http/app.js';
import { testEnv } from '../acme/helpers/deps.js';

test('serve on the embedded store loads neither node-postgres nor fastify\'s schema compilers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nixca-serve-modules-'));
  const record = join(dir, 'loaded.txt');
  const preload = join(dir, 'record.cjs');
  // require.cache holds every CommonJS module of the process, those reached through import too.
  await writeFile(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, Object.keys(require.cache).join('\\n')));\n`);
  try {
    const server = await startNixca({ port: await freePort(), http01Port: await freePort(), names: [], nodeArgs: ['--require', preload], stateDir: join(dir, 'state') });
    await server.stop();
    const loaded = (await readFile(record, 'utf8')).split('\n');
    const of = (pkg: string) => loaded.filter((f) => f.includes(`/node_modules/${pkg}/`));
    // The record is the server's: what it does load is in it.
    assert.ok(of('fastify').length > 0 && of('pino').length > 0, `fastify and pino in the record:\n${loaded.join('\n')}`);
    for (const pkg of ['pg', 'pg-pool', 'pg-protocol', 'ajv', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler']) {
      assert.deepEqual(of(pkg), [], `${pkg} loaded by serve on the embedded store`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a route declaring a JSON schema is refused when the ACME app starts, not left unchecked', async () => {
  const env = await testEnv();
  const app = buildAcmeApp(env.deps);
  try {
    app.get('/with-schema', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async () => 'unchecked');
    await assert.rejects(async () => app.ready(), /declares a JSON schema/);
  } finally {
    await app.close().catch(() => undefined);
    await env.cleanup();
  }
});
