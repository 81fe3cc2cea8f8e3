import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaError } from '../../src/ca/errors.js';
import { combineShares, parseShare, serializeShare, splitPassphrase, type ShareFile } from '../../src/ca/shares.js';

const ROOT = 'a'.repeat(64);
const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof CaError && e.code === code && (!re || re.test(e.message));

function subsets<T>(xs: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (xs.length < k) return [];
  const [h, ...t] = xs;
  return [...subsets(t, k - 1).map((s) => [h!, ...s]), ...subsets(t, k)];
}

const inputs = (fs: readonly ShareFile[]) => fs.map((f) => ({ label: `custodian-${f.index}.json`, text: serializeShare(f) }));

test('every M-subset of a 3-of-5 split reconstructs; every (M-1)-subset is refused', async () => {
  const pass = 'correct horse battery staple ✓';
  const files = await splitPassphrase(pass, { shares: 5, threshold: 3, rootFingerprint: ROOT, rootName: 'Root' });
  assert.equal(files.length, 5);
  assert.deepEqual(files.map((f) => f.index), [1, 2, 3, 4, 5]);
  const recorded = { split: files[0]!.split, checks: Object.fromEntries(files.map((f) => [String(f.index), f.check])) };
  const three = subsets(files, 3);
  assert.equal(three.length, 10);
  for (const s of three) assert.equal(await combineShares(inputs(s), { rootFingerprint: ROOT, recorded }), pass);
  for (const s of subsets(files, 2)) {
    await assert.rejects(combineShares(inputs(s), { rootFingerprint: ROOT, recorded }), isCode('CA_SHARES_INSUFFICIENT', /3 of 5 shares are needed, got 2/));
  }
  // All five also work.
  assert.equal(await combineShares(inputs(files), { rootFingerprint: ROOT }), pass);
});

test('shares do not reveal the passphrase length, and differ between splits', async () => {
  const a = await splitPassphrase('short-pass-123', { shares: 2, threshold: 2, rootFingerprint: ROOT, rootName: 'R' });
  const b = await splitPassphrase('a much longer passphrase, forty-odd characters', { shares: 2, threshold: 2, rootFingerprint: ROOT, rootName: 'R' });
  assert.equal(a[0]!.share.length, b[0]!.share.length);
  assert.notEqual(a[0]!.split, b[0]!.split);
});

test('a flipped byte in one share is reported naming that share', async () => {
  const files = await splitPassphrase('passphrase-for-tests', { shares: 3, threshold: 2, rootFingerprint: ROOT, rootName: 'Root' });
  const ins = inputs(files);
  // Flip one bit inside the base64 share bytes of custodian 2 (decode, flip, re-encode).
  const f2 = JSON.parse(ins[1]!.text) as ShareFile;
  const raw = Buffer.from(f2.share, 'base64');
  raw[5]! ^= 0x10;
  ins[1] = { label: 'custodian-2.json', text: serializeShare({ ...f2, share: raw.toString('base64') }) };
  await assert.rejects(combineShares(ins, { rootFingerprint: ROOT }), isCode('CA_SHARE_INVALID', /share custodian-2\.json \(custodian 2\) is damaged/));
  // A flipped byte anywhere in the file text is also caught (here in the index digit).
  const text = serializeShare(files[0]!).replace('"index": 1', '"index": 7');
  assert.throws(() => parseShare(text, 'x.json'), isCode('CA_SHARE_INVALID', /share x\.json .* damaged/));
  assert.throws(() => parseShare('{"format": "nix', 'y.json'), isCode('CA_SHARE_INVALID', /share y\.json is damaged/));
});

test('a share from another root, another split, or repeated is reported', async () => {
  const mine = await splitPassphrase('passphrase-for-tests', { shares: 3, threshold: 2, rootFingerprint: ROOT, rootName: 'Root' });
  const theirs = await splitPassphrase('passphrase-for-tests', { shares: 3, threshold: 2, rootFingerprint: 'b'.repeat(64), rootName: 'Other Root' });
  const resplit = await splitPassphrase('passphrase-for-tests', { shares: 3, threshold: 2, rootFingerprint: ROOT, rootName: 'Root' });
  const recorded = { split: mine[0]!.split, checks: Object.fromEntries(mine.map((f) => [String(f.index), f.check])) };
  await assert.rejects(
    combineShares([...inputs([mine[0]!]), { label: 'foreign.json', text: serializeShare(theirs[1]!) }], { rootFingerprint: ROOT, recorded }),
    isCode('CA_SHARE_INVALID', /share foreign\.json belongs to another root \("Other Root"/),
  );
  await assert.rejects(
    combineShares([...inputs([mine[0]!]), { label: 'old.json', text: serializeShare(resplit[1]!) }], { rootFingerprint: ROOT, recorded }),
    isCode('CA_SHARE_INVALID', /share old\.json \(custodian 2\) is from another split/),
  );
  await assert.rejects(
    combineShares([...inputs([mine[0]!]), { label: 'old.json', text: serializeShare(resplit[1]!) }], { rootFingerprint: ROOT }),
    isCode('CA_SHARE_INVALID', /another split than share custodian-1/),
  );
  await assert.rejects(combineShares([...inputs([mine[0]!]), { label: 'copy.json', text: serializeShare(mine[0]!) }], { rootFingerprint: ROOT }), isCode('CA_SHARE_INVALID', /custodian 1 again/));
});
