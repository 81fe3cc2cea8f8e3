// The architecture is enforced by lint (eslint.config.js); this proves the rules fire, so a
// refactor of the config cannot silently turn them off.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const eslint = new ESLint({ cwd: root });

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, filePath) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-properties').map((m) => m.message);
}

const cases: Array<[string, string, RegExp | null]> = [
  ['src/ca/probe.ts', "import { x } from '../acme/orders.js';\nexport const y = x;\n", /imports nothing else of ours/],
  ['src/ca/probe.ts', "import { x } from '../inventory/model.js';\nexport const y = x;\n", /imports nothing else of ours/],
  ['src/acme/probe.ts', "import fastify from 'fastify';\nexport const y = fastify;\n", /never imports fastify or lowdb/],
  ['src/acme/probe.ts', "import { openAcmeStore } from '../store/acme.js';\nexport const y = openAcmeStore;\n", /declares the interfaces/],
  ['src/signing/probe.ts', "import { Low } from 'lowdb';\nexport const y = Low;\n", /storage or HTTP/],
  ['src/nixos/probe.ts', "import { run } from '../../cli/main.js';\nexport const y = run;\n", /never imports cli/],
  ['src/nixos/probe.ts', 'export const y = process.env.HOME;\n', /Only cli\/ reads the environment/],
  ['src/store/probe.ts', "import { Low } from 'lowdb';\nexport const y = Low;\n", /Only src\/store\/lowdb.ts/],
  ['src/ceremony/probe.ts', "import { Command } from 'commander';\nexport const y = Command;\n", /src\/ceremony never imports commander/],
  ['src/ceremony/probe.ts', "import { emit } from '../../cli/io.js';\nexport const y = emit;\n", /src\/ceremony never imports cli/],
  ['src/ceremony/probe.ts', "import fastify from 'fastify';\nexport const y = fastify;\n", /src\/ceremony never imports fastify/],
  ['src/ceremony/probe.ts', 'export const y = process.env.HOME;\n', /Only cli\/ reads the environment/],
  ['src/dashboard/probe.ts', "import fastify from 'fastify';\nexport const y = fastify;\n", /Only src\/dashboard\/http\/ uses fastify/],
  ['src/dashboard/probe.ts', "import { openAcmeStore } from '../store/acme.js';\nexport const y = openAcmeStore;\n", /never a concrete store/],
  ['src/dashboard/http/probe.ts', "import { openAcmeStore } from '../../store/acme.js';\nexport const y = openAcmeStore;\n", /never a concrete store/],
  ['src/probe/probe2.ts', "import fastify from 'fastify';\nexport const y = fastify;\n", /Only src\/acme\/http\/ and src\/dashboard\/http\/ use fastify/],
  ['src/acme/probe.ts', "import pg from 'pg';\nexport const y = pg;\n", /Only src\/store\/pg\/ imports node-postgres/],
  ['src/store/probe.ts', "import pg from 'pg';\nexport const y = pg;\n", /Only src\/store\/pg\/ imports node-postgres/],
  ['src/audit/probe.ts', "import type { Pool } from 'pg';\nexport type Y = Pool;\n", /Only src\/store\/pg\/ imports node-postgres/],
  ['cli/probe.ts', "import type { Pool } from 'pg';\nexport type Y = Pool;\n", /Only src\/store\/pg\/ imports node-postgres/],
  ['src/ca/probe.ts', "import pg from 'pg';\nexport const y = pg;\n", /Only src\/store\/pg\/ imports node-postgres/],
  // Allowed directions stay allowed.
  ['src/store/pg/probe.ts', "import pg from 'pg';\nexport const y = pg;\n", null],
  ['src/acme/probe.ts', "import { issueLeaf } from '../ca/leaf.js';\nexport const y = issueLeaf;\n", null],
  ['src/acme/http/probe.ts', "import fastify from 'fastify';\nexport const y = fastify;\n", null],
  ['src/dashboard/http/probe.ts', "import fastify from 'fastify';\nexport const y = fastify;\n", null],
  ['src/store/lowdb-probe.ts', "import { x } from '../inventory/model.js';\nexport const y = x;\n", null],
  ['cli/probe.ts', 'export const y = process.env.HOME;\n', null],
  ['src/ceremony/probe.ts', "import { withFileLock } from '../store/lock.js';\nexport const y = withFileLock;\n", null],
];

for (const [file, code, expected] of cases) {
  test(`import rules: ${file} ${expected ? 'refuses' : 'allows'} ${code.split('\n')[0]}`, async () => {
    const messages = await restricted(file, code);
    if (expected) assert.ok(messages.some((m) => expected.test(m)), `expected ${expected} in ${JSON.stringify(messages)}`);
    else assert.deepEqual(messages, []);
  });
}
