import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SigningError } from '../../src/signing/errors.js';
import { fingerprintPath } from '../../src/signing/fingerprint.js';
import { generateKeyPair, parsePublicKey, parseSecretKey } from '../../src/signing/keys.js';
import { narInfoFingerprint, parseNarInfo, serializeNarInfo, signNarInfo, verifyNarInfo } from '../../src/signing/narinfo.js';
import { decodeNix32 } from '../../src/signing/nix32.js';

const code = (c: string) => (e: unknown) => e instanceof SigningError && e.code === c;

// harmonia-store-path-info/src/lib.rs test_fingerprint_path (the same function as Nix's).
const HARMONIA_FP =
  '1;/nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin;sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0;196040;/nix/store/0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0';
const NAR_NIX32 = '1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0';

test('fingerprint: harmonia/Nix test vector, whatever form the NarHash comes in', () => {
  const bytes = Buffer.from(decodeNix32(NAR_NIX32, 32));
  for (const narHash of ['sha256:' + NAR_NIX32, 'sha256-' + bytes.toString('base64'), 'sha256:' + bytes.toString('hex')]) {
    for (const ref of ['0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0', '/nix/store/0jqd0rlxzra1rs38rdxl43yh6rxchgc6-curl-7.82.0']) {
      const fp = fingerprintPath({ storePath: '/nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin', narHash, narSize: 196040, references: [ref] });
      assert.equal(fp, HARMONIA_FP);
    }
  }
});

test('fingerprint: references sorted by base name, deduplicated, self-reference kept, empty list ends in ";"', () => {
  const self = '/nix/store/syd87l2rxw8cbsxmxl853h0r6pdwhwjr-curl-7.82.0-bin';
  const fp = fingerprintPath({
    storePath: self,
    narHash: 'sha256:' + NAR_NIX32,
    narSize: 1,
    references: ['zzzd0rlxzra1rs38rdxl43yh6rxchgc6-b', self, '0jqd0rlxzra1rs38rdxl43yh6rxchgc6-a', 'zzzd0rlxzra1rs38rdxl43yh6rxchgc6-b'],
  });
  assert.equal(fp.split(';')[4], ['/nix/store/0jqd0rlxzra1rs38rdxl43yh6rxchgc6-a', self, '/nix/store/zzzd0rlxzra1rs38rdxl43yh6rxchgc6-b'].join(','));
  assert.ok(fingerprintPath({ storePath: self, narHash: 'sha256:' + NAR_NIX32, narSize: 144, references: [] }).endsWith(';144;'));
  assert.throws(() => fingerprintPath({ storePath: self, narHash: 'sha256:' + NAR_NIX32, narSize: 0, references: [] }), /NarSize must be a positive integer/);
  assert.throws(() => fingerprintPath({ storePath: '/tmp/x', narHash: 'sha256:' + NAR_NIX32, narSize: 1, references: [] }), code('SIGNING_STORE_PATH_INVALID'));
  assert.throws(() => fingerprintPath({ storePath: self, narHash: 'sha256:' + NAR_NIX32, narSize: 1, references: ['not-a-store-path'] }), code('SIGNING_STORE_PATH_INVALID'));
});

const NARINFO = `StorePath: /nix/store/3jb89w1q3xcj2sfly0g7h4w91iv5xs4z-b.txt
URL: nar/1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz.nar
Compression: none
FileHash: sha256:1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz
FileSize: 120
NarHash: sha256:1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz
NarSize: 120
References: 3jb89w1q3xcj2sfly0g7h4w91iv5xs4z-b.txt 19mw70w8drkgn53791gs2mwvyl34s5v6-a.txt
X-Unknown: kept as is
CA: fixed:r:sha256:1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz
`;

test('narinfo: parse and serialize give back the same bytes; Sig lines go before CA', () => {
  const info = parseNarInfo(NARINFO);
  assert.equal(serializeNarInfo(info), NARINFO);
  assert.equal(info.narSize, 120);
  assert.deepEqual(info.references, ['3jb89w1q3xcj2sfly0g7h4w91iv5xs4z-b.txt', '19mw70w8drkgn53791gs2mwvyl34s5v6-a.txt']);
  assert.equal(
    narInfoFingerprint(info),
    '1;/nix/store/3jb89w1q3xcj2sfly0g7h4w91iv5xs4z-b.txt;sha256:1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz;120;/nix/store/19mw70w8drkgn53791gs2mwvyl34s5v6-a.txt,/nix/store/3jb89w1q3xcj2sfly0g7h4w91iv5xs4z-b.txt',
  );
  const k1 = parseSecretKey(generateKeyPair('old-1').secretKey);
  const k2 = parseSecretKey(generateKeyPair('new-2').secretKey);
  const once = signNarInfo(info, [k1]);
  const twice = signNarInfo(once.narinfo, [k2, k1]);
  assert.equal(twice.added.length, 1, 'signing again with the same key adds nothing');
  const lines = serializeNarInfo(twice.narinfo).split('\n');
  assert.deepEqual(lines.slice(-5), ['X-Unknown: kept as is', `Sig: ${once.added[0]}`, `Sig: ${twice.added[0]}`, 'CA: fixed:r:sha256:1jdbl75ircqagya3qmcxpwdwkk2jskwp5pjihrd8ib3jyr8gjsfz', '']);
  // Everything else unchanged.
  assert.equal(serializeNarInfo(twice.narinfo).replace(/^Sig: .*\n/gm, ''), NARINFO);
  // An empty "References: " line (as Nix writes it) is allowed.
  assert.deepEqual(parseNarInfo(NARINFO.replace(/^References: .*$/m, 'References: ')).references, []);
});

test('narinfo: missing or broken required fields are clear errors', () => {
  for (const field of ['StorePath', 'NarHash', 'NarSize', 'URL']) {
    const text = NARINFO.replace(new RegExp(`^${field}: .*\\n`, 'm'), '');
    assert.throws(() => parseNarInfo(text, { what: 'x.narinfo' }), (e: unknown) => code('SIGNING_NARINFO_MISSING_FIELD')(e) && (e as Error).message === `x.narinfo has no ${field} line`);
  }
  assert.throws(() => parseNarInfo('StorePath: /nix/store/x\n'), /has no URL, NarHash, NarSize lines/);
  assert.throws(() => parseNarInfo(NARINFO.replace('NarSize: 120', 'NarSize: 0')), code('SIGNING_NARINFO_INVALID'));
  assert.throws(() => parseNarInfo(NARINFO.replace('NarSize: 120', 'NarSize: 12x')), /NarSize must be a positive integer/);
  assert.throws(() => parseNarInfo(NARINFO + 'garbage line\n'), /line 11 is not "Key: value"/);
  assert.throws(() => parseNarInfo(NARINFO.replace('/nix/store/3jb', '/gnu/store/3jb')), code('SIGNING_STORE_PATH_INVALID'));
  assert.throws(() => signNarInfo(parseNarInfo(NARINFO.replace(/^NarHash: .*$/m, 'NarHash: sha256:xyz')), [parseSecretKey(generateKeyPair('k-1').secretKey)]), code('SIGNING_HASH_INVALID'));
});

test('verify: by key NAME, like Nix; same bytes under another name do not count', () => {
  const old = generateKeyPair('cache-1');
  const neu = generateKeyPair('cache-2');
  const signed = signNarInfo(parseNarInfo(NARINFO), [parseSecretKey(old.secretKey), parseSecretKey(neu.secretKey)]).narinfo;
  const oldPub = parsePublicKey(old.publicKey);
  const newPub = parsePublicKey(neu.publicKey);
  const onlyOld = verifyNarInfo(signed, [oldPub]);
  assert.equal(onlyOld.validCount, 1);
  assert.deepEqual(onlyOld.signatures.map((s) => s.verdict), ['valid', 'untrusted-key-name']);
  assert.equal(verifyNarInfo(signed, [newPub]).validCount, 1);
  assert.equal(verifyNarInfo(signed, [oldPub, newPub]).validCount, 2);
  // cache-1's bytes published under the name cache-2: the cache-2 signature fails, cache-1's is untrusted.
  const renamed = { name: 'cache-2', bytes: oldPub.bytes };
  assert.deepEqual(verifyNarInfo(signed, [renamed]).signatures.map((s) => s.verdict), ['untrusted-key-name', 'bad-signature']);
  // A tampered field breaks the signature.
  const tampered = parseNarInfo(serializeNarInfo(signed).replace('NarSize: 120', 'NarSize: 121'));
  assert.equal(verifyNarInfo(tampered, [oldPub, newPub]).validCount, 0);
  const junk = parseNarInfo(NARINFO.replace('CA:', 'Sig: nonsense\nCA:'));
  assert.deepEqual(verifyNarInfo(junk, [oldPub]).signatures.map((s) => s.verdict), ['malformed']);
});
