// `nixca audit verify --root FILE --intermediate FILE`: an auditor checks the log against the
// ceremony's certificates (PEM or DER) instead of the copies in STATE/issuer.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { certifyAuditKey } from '../../src/audit/certify.js';
import { appendAudit } from '../../src/audit/log.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { testPki } from './pki.js';

test('audit verify takes the root and intermediate from flags, PEM or DER', async (t) => {
  const state = await tempDir(t);
  const p = await testPki();
  await appendAudit(state, { type: 'node.added', subject: 'nuc-1', node: 'nuc-1', details: { dnsNames: ['cache.nuc-1.n3x.test'] } });
  await certifyAuditKey(state, p.intermediate);
  const rootPem = join(state, 'root.pem');
  const interDer = join(state, 'intermediate.der');
  await writeFile(rootPem, p.root.toString('pem') + '\n');
  await writeFile(interDer, new Uint8Array(p.intermediate.certificate.rawData));

  const ok = await runCli(['audit', 'verify', '--state', state, '--root', rootPem, '--intermediate', interDer, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  const v = JSON.parse(ok.stdout) as { ok: boolean; signer: { certified: boolean; explanation: string } };
  assert.equal(v.ok, true);
  assert.equal(v.signer.certified, true);
  assert.match(v.signer.explanation, /chains to "CN=Test Root"/);

  // Another root: the intermediate does not chain to it.
  const other = await testPki();
  const otherRoot = join(state, 'other-root.pem');
  await writeFile(otherRoot, other.root.toString('pem') + '\n');
  const bad = await runCli(['audit', 'verify', '--state', state, '--root', otherRoot, '--intermediate', interDer]);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /is not signed by the root/);

  // Not a certificate at all: an input error naming the file.
  const junk = join(state, 'junk.pem');
  await writeFile(junk, 'not a certificate\n');
  const input = await runCli(['audit', 'verify', '--state', state, '--root', junk, '--intermediate', interDer]);
  assert.equal(input.code, 3, input.stderr);
  assert.match(input.stderr, /junk\.pem is not a certificate \(PEM or DER\)/);
});
