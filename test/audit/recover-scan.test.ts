// The start-up recovery reads the audit log a chunk at a time (src/audit/recover.ts): it must see
// exactly the entries `readAudit` (the whole-file reader of `audit show`) sees, across chunk
// boundaries, multi-byte text, damaged lines and a torn last line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendAudit, auditPaths, readAudit, type AuditEvent } from '../../src/audit/log.js';
import { auditedSerials } from '../../src/audit/recover.js';

test('auditedSerials streams the log and finds what readAudit finds', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nixca-audit-scan-'));
  try {
    assert.deepEqual(await auditedSerials(dir), { issued: new Set(), revoked: new Set(), tornBytes: 0 }, 'no log: nothing audited');
    const events: AuditEvent[] = [];
    for (let i = 0; i < 1200; i++) {
      const serial = i.toString(16).padStart(32, '0');
      // Multi-byte text in some entries, so that chunk boundaries fall inside UTF-8 sequences.
      events.push({ type: 'certificate.issued', subject: serial, node: 'nüc-€-𝄞', details: { dnsNames: [`cache-${i}.n3x.internal`], note: i % 3 ? 'ä'.repeat(i % 50) : '' } });
      if (i % 7 === 0) events.push({ type: 'certificate.revoked', subject: serial, details: { reason: 1 } });
    }
    events.push({ type: 'node.added', subject: 'not-a-serial' });
    await appendAudit(dir, events);
    const log = auditPaths(dir).log;
    assert.ok((await stat(log)).size > 4 * 65536, 'the log spans several read chunks');
    // Damaged lines are skipped by both readers; a torn last line is counted, not read.
    await appendFile(log, 'not json\n{"seq":1}\n\n{"event":"certificate.issued","data":{"subject":"ff"}');
    const whole = await readAudit(dir);
    const streamed = await auditedSerials(dir);
    assert.deepEqual(streamed.issued, new Set(whole.records.filter((r) => r.type === 'certificate.issued').map((r) => r.subject)));
    assert.deepEqual(streamed.revoked, new Set(whole.records.filter((r) => r.type === 'certificate.revoked').map((r) => r.subject)));
    assert.equal(streamed.issued.size, 1200);
    assert.equal(streamed.revoked.size, Math.ceil(1200 / 7));
    assert.equal(streamed.tornBytes, whole.tornBytes);
    assert.ok(streamed.tornBytes > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
