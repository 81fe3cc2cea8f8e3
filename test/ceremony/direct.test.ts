// src/ceremony called directly, as a library: plain values in, the --json objects out, domain
// errors thrown. The root secret is asked for only once every input check has passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createIntermediateRequest } from '../../src/ca/intermediate.js';
import { issueRootCrl } from '../../src/ceremony/crl.js';
import { initRoot } from '../../src/ceremony/init.js';
import { revokeIntermediate } from '../../src/ceremony/revoke.js';
import { rotateRoot } from '../../src/ceremony/rotate.js';
import { signIntermediate } from '../../src/ceremony/sign-intermediate.js';
import { verifyTranscript } from '../../src/ceremony/transcript.js';
import { countingPassphrase, fixture } from './fixture.js';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('a bad input never asks for the root secret; a good one asks exactly once', async (t) => {
  const f = await fixture(t);
  const dir = await f.root('root');
  const ledgerBefore = await readFile(join(dir, 'ledger.json'), 'utf8');
  const out = join(f.base, 'out', 'intermediate.pem');
  const p = countingPassphrase();
  const sign = (extra: Partial<Parameters<typeof signIntermediate>[0]>) => signIntermediate({ dir, csrPath: f.csr, out, secret: p.source, ...extra });

  // A file that is not a CSR, a CSR whose signature is broken, a CSR that cannot be read.
  await writeFile(join(f.base, 'junk.csr'), 'not a CSR');
  await assert.rejects(sign({ csrPath: join(f.base, 'junk.csr') }), /not a PKCS#10 certificate request/);
  const der = Buffer.from((await createIntermediateRequest({ commonName: 'x' })).csr.rawData);
  der[der.length - 2]! ^= 1;
  await writeFile(join(f.base, 'broken.der'), der);
  await assert.rejects(sign({ csrPath: join(f.base, 'broken.der') }), code('CA_CSR_SIGNATURE_INVALID'));
  await assert.rejects(sign({ csrPath: join(f.base, 'missing.csr') }), /cannot read CSR/);
  // Names outside the root's constraints, a validity past the root's end.
  await assert.rejects(sign({ permitDns: ['example.org'] }), code('CA_NAME_NOT_PERMITTED'));
  await assert.rejects(sign({ validityDays: 11 * 365 }), code('CA_VALIDITY_INVALID'));
  // Output paths that cannot be written: a missing directory, a file in the way, a directory.
  await assert.rejects(sign({ out: join(f.base, 'missing-dir', 'x.pem') }), /the directory .*missing-dir does not exist/);
  await writeFile(join(f.base, 'out', 'taken.pem'), 'x');
  await assert.rejects(sign({ out: join(f.base, 'out', 'taken.pem') }), /already exists; refusing to overwrite it/);
  await assert.rejects(issueRootCrl({ dir, out: join(f.base, 'nowhere', 'root.crl'), nextUpdateMs: 86_400_000, secret: p.source }), /does not exist/);
  await assert.rejects(issueRootCrl({ dir, out: join(f.base, 'out'), nextUpdateMs: 86_400_000, secret: p.source }), /is a directory/);
  // Revocations of what this root never signed, with an unknown reason or a malformed serial.
  await assert.rejects(revokeIntermediate({ dir, serial: '01', secret: p.source }), code('CA_SERIAL_UNKNOWN'));
  await assert.rejects(revokeIntermediate({ dir, serial: '01', reason: 'bored', secret: p.source }), code('CEREMONY_USAGE'));
  await assert.rejects(revokeIntermediate({ dir, serial: 'xyz', secret: p.source }), code('CEREMONY_USAGE'));
  // Not a root directory; a rotation into a directory that is in use, or to another name with a cross-certificate.
  await assert.rejects(issueRootCrl({ dir: join(f.base, 'out'), out: join(f.base, 'x.crl'), nextUpdateMs: 1, secret: p.source }), code('CEREMONY_NOT_ROOT_DIR'));
  await assert.rejects(rotateRoot({ dir, secret: p.source, newRoot: { dir: join(f.base, 'out'), passphrase: p.ask }, cross: true }), code('CEREMONY_EXISTS'));
  await assert.rejects(rotateRoot({ dir, secret: p.source, newRoot: { dir: join(f.base, 'new'), name: 'Other', passphrase: p.ask }, cross: true }), code('CEREMONY_USAGE'));
  await assert.rejects(rotateRoot({ dir, secret: p.source, newRoot: { dir: join(f.base, 'new'), keyAlgorithm: 'DSA', passphrase: p.ask }, cross: true }), code('CEREMONY_USAGE'));
  // root init: bad names, subtrees, share counts.
  const fresh = join(f.base, 'fresh');
  await assert.rejects(initRoot({ dir: fresh, name: 'R', passphrase: p.ask }), /at least one permitted DNS subtree/);
  await assert.rejects(initRoot({ dir: fresh, name: 'R', permitDns: ['*.bad'], passphrase: p.ask }), /not a DNS name subtree/);
  await assert.rejects(initRoot({ dir: fresh, name: 'R', permitDns: ['n3x.internal'], shares: 3, threshold: 4, passphrase: p.ask }), /threshold ≤ shares/);
  await assert.rejects(initRoot({ dir, name: 'R', permitDns: ['n3x.internal'], passphrase: p.ask }), code('CEREMONY_EXISTS'));
  assert.equal(p.calls, 0, 'no bad input asked for the secret');
  await assert.rejects(stat(fresh));
  assert.equal(await readFile(join(dir, 'ledger.json'), 'utf8'), ledgerBefore);

  // The wrong secret is asked for once and refused; the right one signs, and the result is what --json prints.
  const wrong = countingPassphrase('not the root passphrase');
  await assert.rejects(sign({ secret: wrong.source }), code('CA_PASSPHRASE_WRONG'));
  assert.equal(wrong.calls, 1);
  const signed = await sign({});
  assert.equal(p.calls, 1);
  assert.deepEqual(Object.keys(signed), ['serial', 'subject', 'sha256', 'spkiSha256', 'notBefore', 'notAfter', 'permittedDns', 'signedAt', 'revoked', 'out']);
  assert.equal(await readFile(out, 'utf8'), await readFile(join(dir, 'intermediates', `${signed.serial}.pem`), 'utf8'));
  const revoked = await revokeIntermediate({ dir, serial: signed.serial, reason: 'superseded', secret: p.source });
  assert.deepEqual(Object.keys(revoked), ['serial', 'subject', 'revokedAt', 'reason']);
  await assert.rejects(revokeIntermediate({ dir, serial: signed.serial, secret: p.source }), code('CA_ALREADY_REVOKED'));
  const crl = await issueRootCrl({ dir, out: join(f.base, 'out', 'root.crl'), nextUpdateMs: 86_400_000, secret: p.source });
  assert.deepEqual(crl.revoked, [signed.serial]);
  assert.equal(p.calls, 3);
  const { result } = await verifyTranscript(dir);
  assert.equal(result.valid, true, JSON.stringify(result.problems));
  assert.deepEqual(result.events.map((e) => e.event), ['root.init', 'root.sign-intermediate', 'root.revoke', 'root.crl']);
});
