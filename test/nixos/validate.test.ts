import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NixosError } from '../../src/nixos/errors.js';
import { checkAcmeDirectoryUrl, checkRuntimePath, checkSubstituterUrl } from '../../src/nixos/validate.js';

test('ACME directory URLs: canonical https with a host and a plain path only', () => {
  for (const ok of ['https://acme.n3x.internal/directory', 'https://acme.n3x.internal:8443/acme/directory', 'https://10.0.0.1/directory', 'https://[fd00::1]:8443/directory']) {
    assert.equal(checkAcmeDirectoryUrl(ok), ok);
  }
  for (const bad of ['http://acme.n3x.internal/directory', 'https://ACME.n3x.internal/directory', 'https://acme.n3x.internal/a b', 'https://u:p@acme.n3x.internal/', 'https://acme.n3x.internal/#x', 'https://acme/directory', 'https://acme.n3x.internal/{$X}', 'ftp://x.y/', 'not a url']) {
    assert.throws(() => checkAcmeDirectoryUrl(bad), (e: unknown) => e instanceof NixosError && e.code === 'NIXOS_URL_INVALID', bad);
  }
});

test('runtime secret paths: absolute, plain characters, never in /nix', () => {
  assert.equal(checkRuntimePath('/run/agenix/nix-signing-cache.a.b-1', 'p'), '/run/agenix/nix-signing-cache.a.b-1');
  for (const bad of ['run/x', '/run/../etc/shadow', '/run/a b', '/run/a:b', '/run/a"b', '/nix/store/x', '/nix', '/run/${x}', '/run/x\n', '']) {
    assert.throws(() => checkRuntimePath(bad, 'p'), (e: unknown) => e instanceof NixosError && e.code === 'NIXOS_PATH_INVALID', bad);
  }
});

test('the development issuer\'s own directory URL is accepted, so `serve --dev` users can emit modules too', () => {
  for (const ok of ['https://localhost:8443/directory', 'https://localhost/directory', 'https://127.0.0.1:8443/directory', 'https://[::1]:8443/directory']) {
    assert.equal(checkAcmeDirectoryUrl(ok), ok);
  }
  for (const bad of ['https://localhost.:8443/directory', 'https://LOCALHOST:8443/directory', 'https://localhost:8443/directory?x']) {
    assert.throws(() => checkAcmeDirectoryUrl(bad), NixosError, bad);
  }
});

test('substituter URLs are exactly https://<host>?priority=<n>', () => {
  assert.equal(checkSubstituterUrl('https://cache.nuc-1.n3x.internal?priority=30'), 'https://cache.nuc-1.n3x.internal?priority=30');
  for (const bad of ['https://cache.a.b?priority=30 https://evil.example', 'https://cache.a.b/?priority=30', 'http://cache.a.b?priority=1', 'https://cache"a.b?priority=1', 'https://cache.a.b?priority=1&trusted=1']) {
    assert.throws(() => checkSubstituterUrl(bad), NixosError, bad);
  }
});

test('signing keys in the inventory are checked with the signing area parser: canonical name:base64(32 bytes), same name', async () => {
  const { emptyInventory } = await import('../../src/inventory/model.js');
  const { generateKeyPair } = await import('../../src/signing/keys.js');
  const { checkInventoryForEmit } = await import('../../src/nixos/validate.js');
  const kp = generateKeyPair('cache.a.test-1');
  const inv = (publicKey: string, name = 'cache.a.test-1') => {
    const d = emptyInventory();
    d.signingKeys.push({ name, node: null, publicKey, secretKeyPath: null, origin: 'imported', state: 'next', history: [] });
    return d;
  };
  checkInventoryForEmit(inv(kp.publicKey));
  const b64 = kp.publicKey.split(':')[1]!;
  // Last base64 character with non-zero padding bits: the same bytes, a second spelling.
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const sloppy = b64.slice(0, 42) + ALPHABET[ALPHABET.indexOf(b64[42]!) ^ 1]! + '=';
  assert.equal(Buffer.from(sloppy, 'base64').toString('base64'), b64);
  for (const [label, d] of [
    ['a secret key', inv(kp.secretKey)],
    ['trailing newline', inv(kp.publicKey + '\n')],
    ['non-canonical base64', inv(`cache.a.test-1:${sloppy}`)],
    ['another name', inv(kp.publicKey.replace('cache.a.test-1', 'cache.a.test-2'))],
    ['a bad key name', inv(kp.publicKey, 'k/1')],
  ] as const) {
    assert.throws(() => checkInventoryForEmit(d), (e: unknown) => e instanceof NixosError && e.code === 'NIXOS_KEY_INVALID' && !e.message.includes(kp.secretKey), label);
  }
});
