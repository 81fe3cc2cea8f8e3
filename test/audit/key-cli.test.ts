// `nixca key …` records every signing-key transition in the audit log (cli/key.ts wraps its
// inventory store in src/audit/signing-keys.ts auditedInventory); the secret never enters the log.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditPaths } from '../../src/audit/log.js';
import { runCli, tempDir } from '../helpers/cli.js';

test('key generate, rotate and revoke are audited as signing-key transitions', async (t) => {
  const state = await tempDir(t);
  const S = ['--state', state];
  const ok = (r: { code: number; stderr: string }) => assert.equal(r.code, 0, r.stderr);
  ok(await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.test', ...S]));
  ok(await runCli(['key', 'generate', 'nuc-1', '--secret-out', join(state, 'k1.sec'), ...S]));
  ok(await runCli(['key', 'rotate', 'nuc-1', '--min-prepublish', '0s', ...S]));
  const refused = await runCli(['key', 'revoke', 'cache.nuc-1.n3x.test-1', '--reason', 'test', ...S]);
  assert.equal(refused.code, 8, refused.stderr); // the only active key: policy refuses, nothing recorded
  ok(await runCli(['key', 'revoke', 'cache.nuc-1.n3x.test-1', '--reason', 'laptop stolen', '--force', ...S]));
  const entries = JSON.parse((await runCli(['audit', 'show', '--type', 'signing-key', '--json', ...S])).stdout) as { subject: string; node: string; details: { from: string | null; to: string; reason: string } }[];
  assert.deepEqual(entries.map((e) => [e.subject, e.details.from, e.details.to]), [
    ['cache.nuc-1.n3x.test-1', null, 'next'],
    ['cache.nuc-1.n3x.test-1', 'next', 'active'],
    ['cache.nuc-1.n3x.test-1', 'active', 'revoked'],
  ]);
  assert.equal(entries[2]!.details.reason, 'laptop stolen');
  assert.equal(entries[2]!.node, 'nuc-1');
  const secret = (await readFile(join(state, 'k1.sec'), 'utf8')).split(':')[1]!;
  assert.ok(!(await readFile(auditPaths(state).log, 'utf8')).includes(secret), 'the signing secret is in the audit log');
  ok(await runCli(['audit', 'verify', '--allow-uncertified', ...S]));
});
