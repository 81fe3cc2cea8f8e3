// Signing-key transitions (src/inventory SigningKeyRecord.history) as audit events, found by
// comparing the keys before and after an inventory update. `auditedInventory` wraps an
// InventoryStore so that every update that moves a key (generate, import, rotate, revoke) is
// recorded before the inventory is written: if the audit log refuses, the change is not made.
import type { SigningKeyRecord } from '../inventory/model.js';
import type { InventoryStore } from '../store/inventory.js';
import { appendAudit, type AuditEvent } from './log.js';

export function signingKeyTransitionEvents(before: readonly SigningKeyRecord[], after: readonly SigningKeyRecord[]): AuditEvent[] {
  const old = new Map(before.map((k) => [k.name, k]));
  const events: AuditEvent[] = [];
  for (const k of after) {
    const seen = old.get(k.name)?.history.length ?? 0;
    for (const h of k.history.slice(seen)) {
      events.push({
        type: 'signing-key.transition',
        subject: k.name,
        node: k.node,
        time: new Date(h.at),
        // The public key and where the node reads the secret; never the secret itself.
        details: { from: h.from, to: h.to, reason: h.reason, publicKey: k.publicKey, origin: k.origin, shared: k.node === null },
      });
    }
  }
  return events;
}

/** `audit`: the state directory whose file log records the transitions, or an appender (the shared chain). */
export function auditedInventory(inv: InventoryStore, audit: string | ((events: AuditEvent[]) => Promise<unknown>)): InventoryStore {
  const append = typeof audit === 'string' ? (events: AuditEvent[]) => appendAudit(audit, events) : audit;
  return {
    read: () => inv.read(),
    update: (fn) =>
      inv.update(async (data) => {
        const before = structuredClone(data.signingKeys);
        const result = await fn(data);
        const events = signingKeyTransitionEvents(before, data.signingKeys);
        if (events.length) await append(events);
        return result;
      }),
  };
}
