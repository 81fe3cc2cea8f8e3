// Store integrity at open: only an unterminated last line (a torn append) is dropped, its bytes
// kept in a side file and reported; every other inconsistency is refused with the file, the byte
// offset and what to do, and nothing in the store is modified. Files are damaged here on purpose.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { CertificateRecord } from '../../src/acme/model.js';
import { openAcmeStore, type StoreRepair } from '../../src/store/acme.js';
import { tempDir } from '../helpers/cli.js';

const T = new Date('2030-01-01T00:00:00Z');
const CHAIN = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function cert(serial: string): CertificateRecord {
  return { serial, accountId: 'a1', node: 'n', names: ['n.test'], notBefore: T.toISOString(), notAfter: new Date(T.getTime() + 86_400_000).toISOString(), orderId: 'o-' + serial, issuedAt: T.toISOString(), spkiSha256: 'ab' };
}

/** A store with two certificates and an account, closed. */
async function fixture(t: TestContext): Promise<{ state: string; acme: string }> {
  const state = await tempDir(t);
  const s = await openAcmeStore(state, { now: () => T });
  await s.createAccount({ id: 'a1', status: 'valid', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'x' }, thumbprint: 'tp', contact: [], node: 'n', eabKeyId: null, externalAccountBinding: null, createdAt: T.toISOString(), updatedAt: T.toISOString() });
  await s.putCertificate(cert('01'), CHAIN);
  await s.putCertificate(cert('02'), CHAIN);
  await s.close();
  return { state, acme: join(state, 'acme') };
}

/** Name, size and hash of every file in acme/ (writer.lock excluded: the kernel lock's rendezvous file). */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of (await readdir(dir)).sort()) {
    if (f === 'writer.lock') continue;
    const data = await readFile(join(dir, f));
    out.push(`${f} ${data.length} ${createHash('sha256').update(data).digest('hex')} ${(await stat(join(dir, f))).mtimeMs}`);
  }
  return out;
}

async function refused(state: string, acme: string, pattern: RegExp): Promise<void> {
  const before = await snapshot(acme);
  await assert.rejects(openAcmeStore(state, { now: () => T }), (err: Error) => {
    assert.equal(err.name, 'StoreCorruptError');
    assert.match(err.message, pattern);
    assert.match(err.message, /nothing was changed/);
    assert.match(err.message, /restore it from a backup/);
    return true;
  });
  assert.deepEqual(await snapshot(acme), before, 'a refused open modifies nothing');
  // And the refusal holds: a second start refuses the same way (nothing was "repaired").
  await assert.rejects(openAcmeStore(state, { now: () => T }), pattern);
}

test('a torn last line is dropped, its bytes kept in a side file, and reported', async (t) => {
  const { state, acme } = await fixture(t);
  const fragment = '{"t":"cert","v":{"serial":"03","acc';
  const ledger = join(acme, 'ledger.jsonl');
  const size = (await stat(ledger)).size;
  await appendFile(ledger, fragment);
  await appendFile(join(acme, 'working.jsonl'), '{"t":"order"');
  const repairs: StoreRepair[] = [];
  const s = await openAcmeStore(state, { now: () => T, onRepair: (r) => repairs.push(r) });
  assert.equal(s.stats().certificates, 2);
  await s.close();
  assert.equal((await stat(ledger)).size, size);
  const mine = repairs.find((r) => r.file === ledger)!;
  assert.deepEqual({ offset: mine.offset, dropped: mine.droppedBytes }, { offset: size, dropped: fragment.length });
  assert.equal(await readFile(mine.keptIn, 'utf8'), fragment);
  assert.equal((await stat(mine.keptIn)).mode & 0o777, 0o600);
  assert.equal(repairs.length, 2, 'working.jsonl too');
});

test('a read-only open never drops a torn tail (the writer may be mid-append)', async (t) => {
  const { state, acme } = await fixture(t);
  await appendFile(join(acme, 'ledger.jsonl'), '{"t":"ce');
  const before = await snapshot(acme);
  const ro = await openAcmeStore(state, { readOnly: true });
  assert.equal((await ro.listCertificates()).length, 2);
  await ro.close();
  assert.deepEqual(await snapshot(acme), before);
});

test('a complete last line that does not parse is refused, not dropped', async (t) => {
  const { state, acme } = await fixture(t);
  const ledger = join(acme, 'ledger.jsonl');
  const offset = (await stat(ledger)).size;
  await appendFile(ledger, '{"t":"cert","v":{"serial":"03"\n');
  await refused(state, acme, new RegExp(`ledger\\.jsonl at byte ${offset}: a complete line \\(\\d+ bytes\\) is not valid JSON`));
});

test('a line that parses but is not a store record is refused', async (t) => {
  const { state, acme } = await fixture(t);
  const ledger = join(acme, 'ledger.jsonl');
  const offset = (await stat(ledger)).size;
  await appendFile(ledger, '{"t":"cert","v":{"serial":"03"}}\n');
  await refused(state, acme, new RegExp(`ledger\\.jsonl at byte ${offset}: not a store record`));
  const { state: s2, acme: a2 } = await fixture(t);
  await appendFile(join(a2, 'working.jsonl'), '[1,2]\n');
  await refused(s2, a2, /working\.jsonl at byte 0: not a store record/);
});

test('a damaged line in the middle is refused with its offset', async (t) => {
  const { state, acme } = await fixture(t);
  const ledger = join(acme, 'ledger.jsonl');
  const text = await readFile(ledger, 'utf8');
  const second = text.indexOf('\n') + 1;
  await writeFile(ledger, text.slice(0, second) + 'X' + text.slice(second + 1));
  await refused(state, acme, new RegExp(`ledger\\.jsonl at byte ${second}: a complete line`));
});

test('a line that is not UTF-8 is refused (offsets must stay byte-exact)', async (t) => {
  const { state, acme } = await fixture(t);
  const ledger = join(acme, 'ledger.jsonl');
  const offset = (await stat(ledger)).size;
  await appendFile(ledger, Buffer.concat([Buffer.from('{"t":"account","v":{"id":"a\xff'), Buffer.from([0xff]), Buffer.from('","thumbprint":"t"}}\n')]));
  await refused(state, acme, new RegExp(`at byte ${offset}: a complete line`));
});

test('chains.pem shorter than the ledger references is refused, naming the record', async (t) => {
  const { state, acme } = await fixture(t);
  const chains = join(acme, 'chains.pem');
  await truncate(chains, (await stat(chains)).size - 10);
  await refused(state, acme, /ledger\.jsonl at byte \d+: certificate 02 references bytes \d+\.\.\d+ of .*chains\.pem, which has only \d+ bytes/);
  // Missing altogether: the same refusal (every reference dangles).
  const { state: s2, acme: a2 } = await fixture(t);
  await writeFile(join(a2, 'chains.pem'), '');
  await refused(s2, a2, /certificate 0[12] references bytes/);
});

test('a chain reference with a bad offset is refused', async (t) => {
  const { state, acme } = await fixture(t);
  const ledger = join(acme, 'ledger.jsonl');
  const offset = (await stat(ledger)).size;
  await appendFile(ledger, JSON.stringify({ t: 'cert', v: cert('09'), chain: { offset: -5, length: 10 } }) + '\n');
  await refused(state, acme, new RegExp(`ledger\\.jsonl at byte ${offset}: not a store record`));
});

test('unreadable meta.json or an unknown format is refused, naming the file', async (t) => {
  const { state, acme } = await fixture(t);
  await writeFile(join(acme, 'meta.json'), '{"format": 1, "createdAt": "x", ');
  await refused(state, acme, /meta\.json at byte 0: not readable JSON/);
  await writeFile(join(acme, 'meta.json'), JSON.stringify({ format: 99, createdAt: 'x', compactions: 0, lastCompactionAt: null }));
  await refused(state, acme, /meta\.json at byte 0: unknown ACME store format 99/);
});

test('trailing chain bytes no record references (a crash between the two appends) are harmless', async (t) => {
  const { state, acme } = await fixture(t);
  await appendFile(join(acme, 'chains.pem'), '-----BEGIN CERT');
  const s = await openAcmeStore(state, { now: () => T });
  await s.putCertificate(cert('03'), CHAIN);
  assert.equal(await s.getCertificateChain('03'), CHAIN);
  assert.equal(await s.getCertificateChain('01'), CHAIN);
  await s.close();
});
