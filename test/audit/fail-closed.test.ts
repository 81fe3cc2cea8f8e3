// The audit log fails closed: an issuance or revocation whose entry cannot be written fails
// (serverInternal), nothing is shown as done, /health is 503 until appends work again; at start
// every store record without an entry gets one marked recovered; `audit verify` notices entries
// cut off the end (audit/head.json, store cross-check) and a log cut mid-line; while entries wait,
// nothing more is signed or recorded.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { base64url } from 'jose';
import { auditTrail } from '../../src/audit/acme-events.js';
import { appendAudit, auditPaths, readAudit } from '../../src/audit/log.js';
import { recoverAuditEntries } from '../../src/audit/recover.js';
import { auditedStoreSerials, verifyAudit } from '../../src/audit/verify.js';
import { generateKeyPair, exportPrivateKeyPem } from '../../src/ca/keys.js';
import { openAcmeStore } from '../../src/store/acme.js';
import { appRig } from '../acme/helpers/app.js';
import { testCsr } from '../acme/helpers/client.js';
import { NODE_A } from '../acme/helpers/deps.js';
import { tempDir } from '../helpers/cli.js';

async function rig(t: TestContext) {
  const dir = await tempDir(t);
  const { env, app, client: c, health } = await appRig({ audit: auditTrail(dir) }, { dir, t, accounts: 1 });
  /** A finalize that the audit log refuses: returns the response and the order afterwards. */
  const refusedFinalize = async () => {
    const { url, body } = await c.readyOrder([NODE_A.dns[0]!]);
    const { der } = await testCsr([NODE_A.dns[0]!]);
    const fin = await c.post(body.finalize as string, { csr: base64url.encode(der) });
    return { fin, order: (await c.post(url, '')).json() };
  };
  const revoke = async (chainPem: string) => {
    const der = chainPem.split('-----END CERTIFICATE-----')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, '');
    return c.post(c.directory.revokeCert!, { certificate: base64url.encode(Buffer.from(der, 'base64')), reason: 1 });
  };
  return { dir, env, app, c, health, refusedFinalize, revoke };
}

test('an unwritable audit log fails issuance and revocation (serverInternal, nothing shown as done) and /health until it is writable again', async (t) => {
  const { dir, env, c, health, refusedFinalize, revoke } = await rig(t);
  const first = await c.issue([NODE_A.dns[0]!]);
  assert.deepEqual(await health(), { status: 200, audit: { ok: true } });
  const p = auditPaths(dir);
  await rename(p.log, p.log + '.aside');
  await mkdir(p.log); // appends now fail (EISDIR), as on a read-only or broken file system

  const { fin, order } = await refusedFinalize();
  assert.equal(fin.status, 500);
  assert.equal(fin.json().type, 'urn:ietf:params:acme:error:serverInternal');
  assert.notEqual(order.status, 'valid');
  assert.equal(order.certificate, undefined);
  assert.equal((await env.store.listCertificates()).length, 1, 'the refused certificate is not visible');
  const rev = await revoke(first.chainPem);
  assert.equal(rev.status, 500);
  assert.equal((await env.store.listRevocations()).length, 0, 'the refused revocation is not visible (CRL, ARI)');
  const h = await health();
  assert.equal(h.status, 503);
  assert.equal(h.audit?.ok, false);
  // The revocation was refused before it was recorded (the issuance's entry still waited): only
  // the certificate's entry waits.
  assert.match(h.audit!.detail!, /audit entries cannot be appended \(1 waiting\)/);

  // Writable again: the next health check writes the two entries (marked recovered) and is 200.
  await rm(p.log, { recursive: true });
  await rename(p.log + '.aside', p.log);
  assert.deepEqual(await health(), { status: 200, audit: { ok: true } });
  const { records } = await readAudit(dir);
  const recovered = records.filter((r) => r.details.recovered === true);
  assert.deepEqual(recovered.map((r) => r.type), ['certificate.issued']);
  assert.match(String(recovered[0]!.details.recoveredBecause), /EISDIR|illegal operation on a directory/);
  // And the issuer works again.
  assert.equal((await revoke(first.chainPem)).status, 200);
  await c.issue([NODE_A.dns[0]!]);
  assert.equal((await verifyAudit(dir, { allowUncertified: true, store: await serials(env.store) })).ok, true);
});

test('entries waiting after a failed append are written by the next append that works (an issuance, no /health call), before its own; while they cannot be, nothing more is signed; verify against the store on disk passes', async (t) => {
  const { dir, env, c, refusedFinalize, revoke } = await rig(t);
  const first = await c.issue([NODE_A.dns[0]!]);
  const p = auditPaths(dir);
  await rename(p.log, p.log + '.aside');
  await mkdir(p.log);
  for (let i = 0; i < 3; i++) assert.equal((await refusedFinalize()).fin.status, 500);
  // The revocation is refused before it is recorded: the entry of the first refused certificate waits.
  assert.equal((await revoke(first.chainPem)).status, 500);
  await rm(p.log, { recursive: true });
  await rename(p.log + '.aside', p.log);
  // Only the first refused certificate was signed: it is durable but withheld, and the store on
  // disk lists it. The later finalizes were refused before signing, and no revocation was recorded.
  const onDisk = (await auditedStoreSerials(dir))!;
  assert.equal(onDisk.certificates.length, 2);
  assert.equal(onDisk.revocations.length, 0);
  const before = await verifyAudit(dir, { allowUncertified: true, store: onDisk });
  assert.equal(before.ok, false);
  assert.equal(before.problems.filter((x) => /has no certificate\.issued entry/.test(x.reason)).length, 1);
  assert.equal((await env.store.listCertificates()).length, 1, 'the withheld certificate stays invisible in this process');
  const next = await c.issue([NODE_A.dns[0]!]);
  const { records } = await readAudit(dir);
  const issued = records.filter((r) => r.type === 'certificate.issued');
  assert.deepEqual(issued.slice(-2).map((r) => r.details.recovered === true), [true, false], 'the waiting entry comes first, marked recovered');
  assert.ok(next.chainPem);
  const after = await verifyAudit(dir, { allowUncertified: true, store: await auditedStoreSerials(dir) });
  assert.equal(after.ok, true, JSON.stringify(after.problems));
});

async function serials(store: { listCertificates(): Promise<Array<{ serial: string }>>; listRevocations(): Promise<Array<{ serial: string }>> }) {
  return { certificates: (await store.listCertificates()).map((c) => c.serial), revocations: (await store.listRevocations()).map((r) => r.serial) };
}

test('a replaced audit key fails issuance and /health names the reason', async (t) => {
  const { dir, env, health, refusedFinalize } = await rig(t);
  await appendAudit(dir, { type: 'node.added', subject: NODE_A.name });
  const other = await generateKeyPair('ECDSA-P256');
  await writeFile(auditPaths(dir).key, await exportPrivateKeyPem(other.privateKey), { mode: 0o600 });
  const { fin, order } = await refusedFinalize();
  assert.equal(fin.status, 500);
  assert.equal(fin.json().type, 'urn:ietf:params:acme:error:serverInternal');
  assert.notEqual(order.status, 'valid');
  assert.equal((await env.store.listCertificates()).length, 0);
  const h = await health();
  assert.equal(h.status, 503);
  assert.match(h.audit!.detail!, /did not sign the newest entry .* the key was replaced/);
});

test('at start, every certificate and revocation without an entry gets one, marked recovered; verify then passes', async (t) => {
  const dir = await tempDir(t);
  const store = await openAcmeStore(dir);
  t.after(() => store.close());
  const cert = (serial: string) => ({ serial, accountId: 'a', node: 'n', names: ['n.test'], notBefore: '2030-01-01T00:00:00.000Z', notAfter: '2030-02-01T00:00:00.000Z', orderId: 'o' + serial, issuedAt: '2030-01-01T00:00:00.000Z', spkiSha256: 'ab' });
  await appendAudit(dir, { type: 'node.added', subject: 'n' });
  // Committed without their entries, as a crash between the two writes leaves them.
  await store.putCertificate(cert('0a'), 'PEM');
  await store.putCertificate(cert('0b'), 'PEM', () => appendAudit(dir, { type: 'certificate.issued', subject: '0b', details: {} }).then(() => undefined));
  await store.putRevocation({ serial: '0a', reason: 4, revokedAt: '2030-01-02T00:00:00.000Z', by: 'operator' });
  await appendFile(auditPaths(dir).log, '{"seq":9,"ti'); // and the crash tore the log's last append
  const before = await verifyAudit(dir, { allowUncertified: true, store: await auditedStoreSerials(dir) });
  assert.equal(before.ok, false);
  assert.deepEqual(before.problems.filter((p) => p.seq !== null).map((p) => p.reason.replace(/ \(.*$/, '')).sort(), [
    'certificate 0a is in the ACME store but has no certificate.issued entry',
    'revocation of 0a is in the ACME store but has no certificate.revoked entry',
    'the log is cut in the middle of an entry',
  ]);
  assert.deepEqual(await recoverAuditEntries(dir, store), { certificates: ['0a'], revocations: ['0a'] });
  const { records } = await readAudit(dir);
  assert.deepEqual(records.slice(-4).map((r) => [r.type, r.subject, r.details.recovered ?? false]), [
    ['audit.repaired', 'audit', false],
    ['audit.recovered', 'audit', false],
    ['certificate.issued', '0a', true],
    ['certificate.revoked', '0a', true],
  ]);
  assert.equal((await verifyAudit(dir, { allowUncertified: true, store: await auditedStoreSerials(dir) })).ok, true);
  assert.deepEqual(await recoverAuditEntries(dir, store), { certificates: [], revocations: [] }, 'nothing twice');
});

test('verify detects entries removed from the end without an external anchor, and a log cut mid-line', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 4; i++) await appendAudit(dir, { type: 'node.added', subject: `n${i}` });
  assert.equal((await verifyAudit(dir, { allowUncertified: true })).ok, true);
  const log = auditPaths(dir).log;
  const text = await readFile(log, 'utf8');
  const lines = text.trimEnd().split('\n');
  // The last entry removed cleanly (at a line boundary): head.json still names it.
  await writeFile(log, lines.slice(0, -1).join('\n') + '\n');
  const cut = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(cut.ok, false);
  assert.match(cut.problems.map((p) => p.reason).join('\n'), /the log ends at entry 3 but audit\/head.json records entry 4: entries were removed from its end/);
  // Cut in the middle of the last line: reported as such.
  await writeFile(log, text);
  await truncate(log, text.length - 30);
  const mid = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(mid.ok, false);
  assert.match(mid.problems.map((p) => p.reason).join('\n'), /the log is cut in the middle of an entry \(\d+ bytes after entry 3\)/);
  assert.ok(mid.tornTail);
});
