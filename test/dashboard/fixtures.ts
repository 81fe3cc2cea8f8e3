// A dashboard snapshot from plain data (no stores): two nodes, one with a revoked newest certificate.
import type { InventoryData } from '../../src/inventory/model.js';
import { buildSnapshot, type DashboardSnapshot } from '../../src/dashboard/model.js';

const HOUR = 3_600_000;

export function inventory(names: string[] = ['alpha', 'bravo']): InventoryData {
  return {
    version: 1,
    nodes: names.map((name) => ({ name, dnsNames: [`cache.${name}.n3x.test`], dnsSuffixes: [], site: null, priority: 40, createdAt: '2026-01-01T00:00:00.000Z', eab: { keyId: `kid-${name}`, macKey: 'c2VjcmV0LW1hYy1rZXktbmV2ZXItc2hvd24', createdAt: '2026-01-01T00:00:00.000Z' }, renewAfter: null })),
    signingKeys: names.map((name) => ({
      name: `cache.${name}.n3x.test-1`,
      node: name,
      publicKey: `cache.${name}.n3x.test-1:${Buffer.alloc(32, 1).toString('base64')}`,
      secretKeyPath: '/run/keys/secret',
      origin: 'generated' as const,
      state: 'active' as const,
      history: [{ at: '2026-01-01T00:00:00.000Z', from: null, to: 'next' as const, reason: 'generated' }, { at: '2026-01-02T00:00:00.000Z', from: 'next' as const, to: 'active' as const, reason: 'rotate' }],
    })),
  };
}

export function snapshot(now: Date, inv: InventoryData = inventory()): DashboardSnapshot {
  const t = now.getTime();
  const certificates = inv.nodes.map((n, i) => ({
    serial: `${(i + 1).toString(16).padStart(2, '0')}aabbccddeeff00112233445566778899`.slice(0, 32),
    node: n.name,
    names: n.dnsNames,
    notBefore: new Date(t - 24 * HOUR).toISOString(),
    notAfter: new Date(t + (6 + i) * 24 * HOUR).toISOString(),
    issuedAt: new Date(t - 24 * HOUR + 60_000).toISOString(),
  }));
  const revocations = certificates.length > 1 ? [{ serial: certificates[1]!.serial, reason: 1, revokedAt: new Date(t - HOUR).toISOString() }] : [];
  return buildSnapshot({
    inventory: inv,
    certificates,
    revocations,
    now,
    probe: null,
    audit: { recent: [], total: 0, verification: null, error: 'no audit log yet' },
    crl: { crlNumber: 3, thisUpdate: now.toISOString(), nextUpdate: new Date(t + 7 * 24 * HOUR).toISOString(), entries: 1 },
  });
}
