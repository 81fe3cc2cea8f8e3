// The audit hooks inside the real ACME core (buildAcmeApp + the real store + a real CA): an
// issuance and an ACME revokeCert become chained entries, and no EAB MAC key reaches the log.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { base64url } from 'jose';
import { auditTrail } from '../../src/audit/acme-events.js';
import { auditPaths, readAudit } from '../../src/audit/log.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { appRig } from '../acme/helpers/app.js';
import { NODE_A } from '../acme/helpers/deps.js';
import { tempDir } from '../helpers/cli.js';

test('ACME issuance and revokeCert through the real core are audited, chained, and free of secrets', async (t) => {
  const dir = await tempDir(t);
  const { env, client: c } = await appRig({ audit: auditTrail(dir) }, { dir, t, accounts: 1 });
  const r = await c.issue([NODE_A.dns[0]!]);
  const der = r.chainPem.split('-----END CERTIFICATE-----')[0]!.replace(/-----BEGIN CERTIFICATE-----|\s/g, '');
  assert.equal((await c.post(c.directory.revokeCert!, { certificate: base64url.encode(Buffer.from(der, 'base64')), reason: 1 })).status, 200);

  const [cert] = await env.store.listCertificates();
  const { records } = await readAudit(dir);
  assert.deepEqual(records.map((x) => [x.type, x.subject, x.node]), [
    ['audit.init', 'audit', null],
    ['certificate.issued', cert!.serial, NODE_A.name],
    ['certificate.revoked', cert!.serial, NODE_A.name],
  ]);
  assert.deepEqual(records[1]!.details.names, [NODE_A.dns[0]]);
  assert.equal(records[1]!.details.akiKeyId, cert!.akiKeyId);
  assert.equal(records[2]!.details.reason, 'keyCompromise');
  assert.match(String(records[2]!.details.by), /^account:/);
  assert.equal((await verifyAudit(dir, { allowUncertified: true })).ok, true);
  const raw = await readFile(auditPaths(dir).log, 'utf8');
  assert.ok(!raw.includes(env.eab[NODE_A.name]!.macKey), 'the EAB MAC key is in the audit log');
  assert.ok(!/PRIVATE KEY/.test(raw));
});
