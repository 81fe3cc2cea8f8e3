import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditTrail, revokedEvent } from '../../src/audit/acme-events.js';
import { readAudit } from '../../src/audit/log.js';
import { verifyAudit } from '../../src/audit/verify.js';
import type { CertificateRecord } from '../../src/acme/model.js';
import { tempDir } from '../helpers/cli.js';

const cert = (i: number): CertificateRecord => ({
  serial: (0x4000 + i).toString(16) + 'aa',
  accountId: 'acct-1',
  node: i % 2 ? 'nuc-1' : 'nuc-2',
  names: [`cache.nuc-${(i % 2) + 1}.n3x.test`],
  notBefore: '2026-11-22T00:00:00.000Z',
  notAfter: '2026-11-29T00:00:00.000Z',
  orderId: `order-${i}`,
  issuedAt: '2026-11-22T00:05:00.000Z',
  spkiSha256: 'ab'.repeat(32),
});

test('ACME issuance and revocation hooks append chained entries, also when many requests finish at once', async (t) => {
  const dir = await tempDir(t);
  const events = auditTrail(dir);
  const n = 40;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => events.certificateIssued(cert(i))));
  const ms = performance.now() - t0;
  t.diagnostic(`${n} concurrent issuance entries in ${ms.toFixed(0)} ms (${(ms / n).toFixed(1)} ms each, fsync included)`);
  await events.certificateRevoked({ serial: cert(3).serial, reason: 1, revokedAt: '2026-11-22T01:00:00.000Z', by: 'account:acct-1' }, cert(3));
  const v = await verifyAudit(dir, { allowUncertified: true });
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  assert.equal(v.entries, n + 2);
  const { records } = await readAudit(dir);
  assert.deepEqual(new Set(records.filter((r) => r.type === 'certificate.issued').map((r) => r.subject)), new Set(Array.from({ length: n }, (_, i) => cert(i).serial)));
  const rev = records.at(-1)!;
  assert.equal(rev.type, 'certificate.revoked');
  assert.equal(rev.node, 'nuc-1');
  assert.deepEqual(rev.details, { serial: cert(3).serial, reason: 'keyCompromise', reasonCode: 1, by: 'account:acct-1', names: ['cache.nuc-2.n3x.test'] });
  const issued = records.find((r) => r.subject === cert(0).serial)!;
  assert.equal(issued.time, cert(0).issuedAt);
  assert.equal(issued.details.orderId, 'order-0');
});

test('revocation entries name the RFC 5280 reason; a code without a name is kept as a number', () => {
  const rev = (reason: number) => revokedEvent({ serial: 'aa', reason, revokedAt: '2026-11-22T01:00:00.000Z', by: 'operator' }, undefined).details;
  assert.equal(rev(0).reason, 'unspecified');
  assert.equal(rev(5).reason, 'cessationOfOperation');
  assert.equal(rev(9).reason, 'privilegeWithdrawn');
  assert.equal(rev(7).reason, 'code 7');
  assert.deepEqual(rev(7).names, []);
});
