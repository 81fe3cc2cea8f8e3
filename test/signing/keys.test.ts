import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { SigningError } from '../../src/signing/errors.js';
import {
  generateKeyPair,
  parsePublicKey,
  parsePublicKeyList,
  parseSecretKey,
  formatPublicKey,
  signDetached,
  toPublicKey,
  verifySignatureBytes,
  parseSignature,
} from '../../src/signing/keys.js';
import { tempDir } from '../helpers/cli.js';
import { nixEnv } from './nix.js';

const code = (c: string) => (e: unknown) => e instanceof SigningError && e.code === c;

test('generated keys have Nix\'s layout: name:base64(64) secret, name:base64(32) public, no newline', () => {
  const kp = generateKeyPair('cache.nuc-1.n3x.internal-1');
  assert.match(kp.secretKey, /^cache\.nuc-1\.n3x\.internal-1:[A-Za-z0-9+/]{86}==$/);
  assert.match(kp.publicKey, /^cache\.nuc-1\.n3x\.internal-1:[A-Za-z0-9+/]{43}=$/);
  assert.ok(!kp.secretKey.endsWith('\n'));
  const secret = Buffer.from(kp.secretKey.split(':')[1]!, 'base64');
  assert.equal(secret.length, 64);
  // Second half of the secret = the public key (libsodium / tweetnacl layout).
  assert.equal(secret.subarray(32).toString('base64'), kp.publicKey.split(':')[1]);
  assert.equal(formatPublicKey(toPublicKey(parseSecretKey(kp.secretKey))), kp.publicKey);
  // A known seed gives a known key (RFC 8032 §7.1 test 1: secret key 9d61… → public d75a…).
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
  const fixed = generateKeyPair('t-1', seed);
  assert.equal(Buffer.from(fixed.publicKey.slice(4), 'base64').toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
});

test('key parsing: each malformed input gets its own clear error', () => {
  const kp = generateKeyPair('k-1');
  const pubB64 = kp.publicKey.slice(4);
  const secB64 = kp.secretKey.slice(4);
  assert.throws(() => parsePublicKey(pubB64), code('SIGNING_KEY_NO_NAME'));
  assert.throws(() => parsePublicKey(':' + pubB64), code('SIGNING_KEY_NO_NAME'));
  assert.throws(() => parsePublicKey('bad name:' + pubB64), code('SIGNING_KEY_NAME_INVALID'));
  assert.throws(() => parsePublicKey('k"1:' + pubB64), /may only contain letters/);
  assert.throws(() => parsePublicKey('k-1:' + pubB64.replace(/.$/, '')), code('SIGNING_KEY_BASE64_INVALID')); // padding missing
  assert.throws(() => parsePublicKey('k-1:' + pubB64.replace(/^./, '*')), code('SIGNING_KEY_BASE64_INVALID'));
  assert.throws(() => parsePublicKey('k-1:' + Buffer.alloc(31).toString('base64')), (e: unknown) => code('SIGNING_KEY_LENGTH')(e) && /31 bytes.*32/.test((e as Error).message));
  // A secret given where a public key is expected, and the other way round.
  assert.throws(() => parsePublicKey(kp.secretKey), /64 bytes, a Nix public key has 32/);
  assert.throws(() => parseSecretKey(kp.publicKey), /32 bytes, a Nix secret key has 64/);
  assert.throws(() => parseSecretKey(secB64), code('SIGNING_KEY_NO_NAME'));
  // A damaged public half in the secret.
  const raw = Buffer.from(secB64, 'base64');
  raw[40]! ^= 1;
  assert.throws(() => parseSecretKey('k-1:' + raw.toString('base64')), code('SIGNING_KEY_CORRUPT'));
  // Surrounding whitespace (a file written by echo) is fine, as for harmonia and nix.
  assert.equal(parseSecretKey(kp.secretKey + '\n').name, 'k-1');
  assert.equal(parsePublicKeyList(`${kp.publicKey}\n  ${generateKeyPair('k-2').publicKey} `).length, 2);
  // Errors never echo the key material.
  try {
    parseSecretKey('k-1:' + raw.toString('base64'));
  } catch (e) {
    assert.ok(!(e as Error).message.includes(raw.toString('base64').slice(0, 20)));
  }
});

test('detached signatures: name:base64(64), verify under the right key only', () => {
  const kp = generateKeyPair('k-1');
  const sig = signDetached(parseSecretKey(kp.secretKey), 'hello');
  const parsed = parseSignature(sig)!;
  assert.equal(parsed.name, 'k-1');
  assert.equal(parsed.bytes.length, 64);
  assert.ok(verifySignatureBytes('hello', parsed.bytes, parsePublicKey(kp.publicKey)));
  assert.ok(!verifySignatureBytes('hellO', parsed.bytes, parsePublicKey(kp.publicKey)));
  assert.ok(!verifySignatureBytes('hello', parsed.bytes, parsePublicKey(generateKeyPair('k-1').publicKey)));
  assert.equal(parseSignature('k-1:abc'), undefined);
  assert.equal(parseSignature('nocolon'), undefined);
  // Same as tweetnacl's own detached signature over the UTF-8 bytes.
  const raw = nacl.sign.detached(new TextEncoder().encode('hello'), parseSecretKey(kp.secretKey).bytes);
  assert.deepEqual(Buffer.from(parsed.bytes), Buffer.from(raw));
});

test('real nix: convert-secret-to-public on a nixca secret, and nixca reads nix-generated keys', async (t) => {
  const dir = await tempDir(t, 'nixca-keys-');
  const nix = await nixEnv(dir);
  for (let i = 0; i < 3; i++) {
    const kp = generateKeyPair(`cache.nuc-${i}.n3x.internal-1`, i === 0 ? randomBytes(32) : undefined);
    const pub = await nix.ok('nix', ['key', 'convert-secret-to-public'], { input: kp.secretKey });
    assert.equal(pub, kp.publicKey); // exactly, and nix prints no newline either
  }
  // nix-store --generate-binary-cache-key: nixca parses both files and derives the same public key.
  await nix.ok('nix-store', ['--generate-binary-cache-key', 'nix-cache-1', join(dir, 'n.sec'), join(dir, 'n.pub')]);
  const nSec = await readFile(join(dir, 'n.sec'), 'utf8');
  const nPub = await readFile(join(dir, 'n.pub'), 'utf8');
  assert.equal(formatPublicKey(toPublicKey(parseSecretKey(nSec))), nPub);
  assert.equal(formatPublicKey(parsePublicKey(nPub)), nPub);
  // nix key generate-secret prints a secret nixca accepts.
  const gen = await nix.ok('nix', ['key', 'generate-secret', '--key-name', 'node-made-1']);
  assert.equal(parseSecretKey(gen).name, 'node-made-1');
  // And nix refuses what nixca refuses: a truncated secret.
  await writeFile(join(dir, 'bad.sec'), 'k-1:' + Buffer.alloc(32).toString('base64'));
  const bad = await nix.run('nix', ['key', 'convert-secret-to-public'], { input: 'k-1:' + Buffer.alloc(32).toString('base64') });
  assert.notEqual(bad.code, 0);
  assert.throws(() => parseSecretKey('k-1:' + Buffer.alloc(32).toString('base64')), code('SIGNING_KEY_LENGTH'));
});
