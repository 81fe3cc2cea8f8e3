// The ACME store on disk: durable across reopen, torn last lines tolerated, serials unique,
// expired working-set records pruned, compaction keeps what is live.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAcmeStore } from '../../src/store/acme.js';
import { StoreConflictError } from '../../src/acme/store.js';
import type { AccountRecord, AuthorizationRecord, CertificateRecord, OrderRecord } from '../../src/acme/model.js';

const t = new Date('2030-01-01T00:00:00Z');
const iso = (ms: number) => new Date(t.getTime() + ms).toISOString();

function account(id: string, thumbprint = 'tp-' + id): AccountRecord {
  return { id, status: 'valid', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x' }, thumbprint, contact: [], node: 'nuc-1', eabKeyId: 'k', externalAccountBinding: null, createdAt: iso(0), updatedAt: iso(0) };
}
function authz(id: string, expires = iso(3_600_000)): AuthorizationRecord {
  return { id, accountId: 'a1', identifier: { type: 'dns', value: 'cache.nuc-1.test' }, expires, challenges: [{ id: 'c-' + id, type: 'http-01', token: 't', status: 'pending' }], createdAt: iso(0) };
}
function order(id: string, authzIds: string[], expires = iso(3_600_000)): OrderRecord {
  return { id, accountId: 'a1', identifiers: [{ type: 'dns', value: 'cache.nuc-1.test' }], authorizationIds: authzIds, expires, createdAt: iso(0) };
}
function cert(serial: string, orderId: string): CertificateRecord {
  return { serial, accountId: 'a1', node: 'nuc-1', names: ['cache.nuc-1.test'], notBefore: iso(0), notAfter: iso(7 * 86_400_000), orderId, issuedAt: iso(0), spkiSha256: 'ab' };
}

describe('ACME store (src/store/acme.ts)', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'nixca-acme-store-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps accounts, orders, certificates and revocations across reopen', async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t });
    await s.createAccount(account('a1'));
    await s.updateAccount('a1', (a) => ({ ...a, contact: ['mailto:x@y.test'] }));
    await s.createOrder(order('o1', ['z1']), [authz('z1')]);
    await s.updateAuthorization('z1', (a) => ({ ...a, challenges: a.challenges.map((c) => ({ ...c, status: 'valid' as const, validated: iso(1) })) }));
    await s.putCertificate(cert('0a1b', 'o1'), 'CHAIN-PEM');
    await s.updateOrder('o1', (o) => ({ ...o, certificateSerial: '0a1b' }));
    await s.putRevocation({ serial: '0a1b', reason: 1, revokedAt: iso(2), by: 'account:a1' });
    await assert.rejects(s.putCertificate(cert('0a1b', 'o1'), 'X'), StoreConflictError, 'serials are unique');
    await assert.rejects(s.createAccount(account('a2', 'tp-a1')), StoreConflictError, 'one account per key');
    await s.close();

    const r = await openAcmeStore(dir, { now: () => t });
    assert.deepEqual((await r.getAccount('a1'))?.contact, ['mailto:x@y.test']);
    assert.equal((await r.findAccountByThumbprint('tp-a1'))?.id, 'a1');
    assert.equal((await r.getOrder('o1'))?.certificateSerial, '0a1b');
    assert.equal((await r.getAuthorization('z1'))?.challenges[0]?.status, 'valid');
    assert.equal((await r.findReusableAuthorization!('a1', 'cache.nuc-1.test', t))?.id, 'z1');
    assert.equal(await r.getCertificateChain('0a1b'), 'CHAIN-PEM');
    assert.equal((await r.getRevocation('0a1b'))?.reason, 1);
    assert.equal(r.hasSerial('0a1b'), true);
    assert.deepEqual(await r.listOrderIds('a1'), ['o1']);
    await r.close();
    const mode = (await stat(join(dir, 'acme', 'ledger.jsonl'))).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  it('after a key change (and a reopen) the old key is free and the new one taken', async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t, cacheSize: 1 });
    await s.createAccount(account('a1', 'old'));
    await s.updateAccount('a1', (a) => ({ ...a, thumbprint: 'new' }));
    await s.close();
    const r = await openAcmeStore(dir, { now: () => t, cacheSize: 1 });
    assert.equal(await r.findAccountByThumbprint('old'), undefined);
    assert.equal((await r.findAccountByThumbprint('new'))?.id, 'a1');
    await r.createAccount(account('a2', 'old'));
    await assert.rejects(r.createAccount(account('a3', 'new')), StoreConflictError);
    await r.createAccount(account('a4', 'other'));
    assert.equal((await r.findAccountByThumbprint('old'))?.id, 'a2');
    assert.equal((await r.getAccount('a1'))?.thumbprint, 'new', 'read back from disk through a 1-entry cache');
    await r.close();
  });

  it("finalize's reads at once (getOrderAndAccountKey) answer what getOrder and findAccountByThumbprint answer, a key changed away included", async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t, cacheSize: 1 });
    await s.createAccount(account('a1', 'old'));
    await s.updateAccount('a1', (a) => ({ ...a, thumbprint: 'new' }));
    await s.createAccount(account('a2'));
    await s.createOrder(order('o1', ['z1']), [authz('z1')]);
    await s.close();
    // Reopened: the index still names a1 under its old key, which is no account's key any more.
    const r = await openAcmeStore(dir, { now: () => t, cacheSize: 1 });
    for (const tp of ['old', 'new', 'tp-a2', 'nobody']) {
      const both = await r.getOrderAndAccountKey!('o1', tp);
      assert.deepEqual(both, { order: await r.getOrder('o1'), isAccountKey: (await r.findAccountByThumbprint(tp)) !== undefined }, tp);
      assert.equal(both!.isAccountKey, tp === 'new' || tp === 'tp-a2', tp);
    }
    assert.equal(await r.getOrderAndAccountKey!('nope', 'new'), undefined, 'no order, no answer');
    await r.close();
  });

  it('has one writer: a second open is read-only and refuses writes; a dead writer\'s lock is taken over', async () => {
    const dir = await tmp();
    const a = await openAcmeStore(dir, { now: () => t });
    assert.equal(a.readOnly, false);
    await a.createAccount(account('a1'));
    const b = await openAcmeStore(dir, { now: () => t });
    assert.equal(b.readOnly, true);
    assert.ok(await b.getAccount('a1'), 'a read-only view sees the data');
    await assert.rejects(b.putRevocation({ serial: '01', reason: 0, revokedAt: iso(0), by: 'operator' }), { name: 'StoreLockedError', kind: 'conflict' });
    await assert.rejects(b.createAccount(account('a2')), { name: 'StoreLockedError' });
    await b.close();
    await a.close();
    // A lock file naming a process that no longer exists (kill -9) does not block the next writer.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'acme', 'writer.lock'), '999999999');
    const c = await openAcmeStore(dir, { now: () => t });
    assert.equal(c.readOnly, false);
    await c.createAccount(account('a3'));
    await c.close();
    const ro = await openAcmeStore(dir, { now: () => t, readOnly: true });
    assert.equal(ro.readOnly, true);
    assert.ok(await ro.getAccount('a3'));
    await ro.close();
  });

  it('two writers opening at the same moment: exactly one gets the writer lock', async () => {
    const dir = await tmp();
    await openAcmeStore(dir, { now: () => t }).then((s) => s.close()); // create acme/
    for (let round = 0; round < 5; round++) {
      const both = await Promise.all([openAcmeStore(dir, { now: () => t }), openAcmeStore(dir, { now: () => t })]);
      assert.equal(both.filter((s) => !s.readOnly).length, 1, `round ${round}: one writer`);
      for (const s of both) await s.close();
    }
  });

  it('a read-only open never repairs or truncates (the writer may be mid-append)', async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t });
    await s.createAccount(account('a1'));
    await s.close();
    const ledger = join(dir, 'acme', 'ledger.jsonl');
    await appendFile(ledger, '{"t":"acc');
    const size = (await stat(ledger)).size;
    const ro = await openAcmeStore(dir, { now: () => t, readOnly: true });
    assert.ok(await ro.getAccount('a1'));
    await ro.close();
    assert.equal((await stat(ledger)).size, size);
  });

  it('tolerates a torn last line (crash mid-append) and appends cleanly after it', async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t });
    await s.createAccount(account('a1'));
    await s.close();
    const ledger = join(dir, 'acme', 'ledger.jsonl');
    await appendFile(ledger, '{"t":"account","v":{"id":"a2","thumbpr');
    const r = await openAcmeStore(dir, { now: () => t });
    assert.ok(await r.getAccount('a1'));
    assert.equal(await r.getAccount('a2'), undefined);
    await r.createAccount(account('a3'));
    await r.close();
    const lines = (await readFile(ledger, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => JSON.parse(l)));
    // A complete-looking last line without its newline was never acknowledged: dropped too.
    await appendFile(ledger, JSON.stringify({ t: 'account', v: account('a4') }));
    const r2 = await openAcmeStore(dir, { now: () => t });
    assert.equal(await r2.getAccount('a4'), undefined);
    assert.ok(await r2.getAccount('a3'));
    await r2.close();
  });

  it('refuses a damaged line in the middle rather than guessing', async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t });
    await s.createAccount(account('a1'));
    await s.close();
    const ledger = join(dir, 'acme', 'ledger.jsonl');
    const good = await readFile(ledger, 'utf8');
    await appendFile(ledger, 'garbage\n' + good);
    await assert.rejects(openAcmeStore(dir, { now: () => t }), /ledger\.jsonl at byte \d+: a complete line .* is not valid JSON/);
  });

  it('a certificate committed before a crash makes its order valid at reopen', async () => {
    const dir = await tmp();
    const s = await openAcmeStore(dir, { now: () => t });
    await s.createOrder(order('o1', ['z1']), [authz('z1')]);
    await s.putCertificate(cert('77', 'o1'), 'PEM');
    await s.close(); // "crash" before updateOrder
    const r = await openAcmeStore(dir, { now: () => t });
    assert.equal((await r.getOrder('o1'))?.certificateSerial, '77');
    await r.close();
  });

  it('prunes expired orders and authorizations and compacts the working log', async () => {
    const dir = await tmp();
    let now = t;
    const s = await openAcmeStore(dir, { now: () => now });
    for (let i = 0; i < 600; i++) {
      await s.createOrder(order('o' + i, ['z' + i], iso(1000)), [authz('z' + i, iso(1000))]);
      await s.updateOrder('o' + i, (o) => ({ ...o, notAfter: iso(5) }));
    }
    await s.createOrder(order('live', ['zl'], iso(86_400_000)), [authz('zl', iso(86_400_000))]);
    now = new Date(t.getTime() + 60_000);
    const pruned = await s.prune(now);
    assert.deepEqual(pruned, { orders: 600, authorizations: 600 });
    const stats = (s as unknown as { stats(): { workingLines: number } }).stats();
    assert.ok(stats.workingLines <= 2, `compacted to the live set, got ${stats.workingLines}`);
    await s.close();
    const r = await openAcmeStore(dir, { now: () => now });
    assert.equal(await r.getOrder('o1'), undefined);
    assert.ok(await r.getOrder('live'));
    await r.close();
  });
});
