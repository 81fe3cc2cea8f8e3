// Operator revocation commits its audit entry with the revocation (src/acme/store.ts CommitHook):
// if the audit log refuses the entry the command fails (io, exit 7), this process shows no
// revocation, and a retry once the log works again revokes and audits normally.
import assert from 'node:assert/strict';
import { mkdir, rename, rm } from 'node:fs/promises';
import { test } from 'node:test';
import { auditPaths, readAudit } from '../../src/audit/log.js';
import { revoke } from '../../src/ops/revoke.js';
import { openAcmeStore } from '../../src/store/acme.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { testPki } from '../audit/pki.js';
import { issueInto } from '../status/helpers.js';

test('cert revoke: an audit log that refuses the entry fails the revocation (exit 7, one line) and nothing is revoked in that process', async (t) => {
  const state = await tempDir(t);
  const S = ['--state', state];
  assert.equal((await runCli(['node', 'add', 'nuc-1', '--dns', 'cache.nuc-1.n3x.test', ...S])).code, 0);
  const a = await issueInto(state, await testPki(['n3x.test']), 'nuc-1', ['cache.nuc-1.n3x.test']);
  const p = auditPaths(state);
  await rename(p.log, p.log + '.aside');
  await mkdir(p.log); // appends fail (EISDIR), as on a broken file system

  const r = await runCli(['cert', 'revoke', a.serial, '--reason', 'keyCompromise', ...S]);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`certificate ${a.serial} was not revoked: the audit log refused its entry`));

  await rm(p.log, { recursive: true });
  await rename(p.log + '.aside', p.log);
  assert.equal((await readAudit(state)).records.filter((e) => e.type === 'certificate.revoked').length, 0);
});

test('ops revoke: the audit entry is written before the revocation is visible; a refused entry leaves it unrevoked and a retry works', async (t) => {
  const state = await tempDir(t);
  const a = await issueInto(state, await testPki(['n3x.test']), 'nuc-1', ['cache.nuc-1.n3x.test']);
  const store = await openAcmeStore(state);
  t.after(() => store.close());
  let failing = true;
  const seenAtAudit: unknown[] = [];
  const deps = {
    store,
    inventory: { read: async () => { throw new Error('unused'); }, update: async () => { throw new Error('unused'); } },
    audit: async () => {
      seenAtAudit.push(await store.getRevocation(a.serial));
      if (failing) throw new Error('disk full');
    },
    now: () => new Date(),
    appliedBy: 'store' as const,
  };
  await assert.rejects(revoke(deps, { serial: a.serial }, 1), (e: { kind?: string; message: string }) => e.kind === 'io' && /was not revoked/.test(e.message));
  assert.equal(await store.getRevocation(a.serial), undefined);
  failing = false;
  const ok = await revoke(deps, { serial: a.serial }, 1);
  assert.equal(ok.data.revoked[0]!.serial, a.serial);
  assert.equal((await store.getRevocation(a.serial))?.reason, 1);
  // Neither attempt could see the revocation while its audit entry was being written.
  assert.deepEqual(seenAtAudit, [undefined, undefined]);
});
