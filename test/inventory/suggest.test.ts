// "did you mean …?" for unknown node names: the edit distance, which names are offered, and the
// one error line every command that resolves a NODE argument prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { didYouMean, editDistance, nearestNames } from '../../src/inventory/suggest.js';
import { runCli, tempDir } from '../helpers/cli.js';

test('edit distance counts insertions, deletions, substitutions and neighbour swaps as one', () => {
  assert.equal(editDistance('nuc-1', 'nuc-1'), 0);
  assert.equal(editDistance('nuc1', 'nuc-1'), 1);
  assert.equal(editDistance('nuc-12', 'nuc-1'), 1);
  assert.equal(editDistance('nuc-2', 'nuc-1'), 1);
  assert.equal(editDistance('ncu-1', 'nuc-1'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('only close names are offered, nearest first, at most three', () => {
  const known = ['nuc-1', 'nuc-2', 'bench', 'cache-office', 'nuc-10'];
  assert.deepEqual(nearestNames('nuc1', known), ['nuc-1', 'nuc-10']);
  assert.deepEqual(nearestNames('NUC-1', known), ['nuc-1', 'nuc-10', 'nuc-2']);
  assert.deepEqual(nearestNames('bnech', known), ['bench']);
  assert.deepEqual(nearestNames('x', known), []);
  assert.deepEqual(nearestNames('office', known), []);
  assert.equal(didYouMean('bnech', known), '; did you mean bench?');
  assert.equal(didYouMean('nuc-3', ['nuc-1', 'nuc-2']), '; did you mean nuc-1 or nuc-2?');
  assert.equal(didYouMean('zzz', known), '');
});

test('every command that resolves a NODE argument suggests the inventory names', async (t) => {
  const state = await tempDir(t, 'nixca-suggest-');
  const S = ['--state', state];
  for (const n of ['nuc-1', 'bench']) assert.equal((await runCli(['node', 'add', n, '--dns', `cache.${n}.n3x.internal`, ...S])).code, 0);
  const cases: string[][] = [
    ['node', 'show', 'nuc1'],
    ['node', 'eab', 'nuc1', '--out', `${state}/x.env`],
    ['node', 'remove', 'nuc1'],
    ['key', 'status', 'nuc1'],
    ['key', 'generate', 'nuc1', '--secret-out', `${state}/x.sec`],
    ['key', 'rotate', 'nuc1'],
    ['renew-now', 'nuc1'],
  ];
  for (const args of cases) {
    const r = await runCli([...args, ...S]);
    const what = `nixca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`;
    assert.equal(r.code, 4, what);
    assert.equal(r.stderr.trim(), 'nixca: no node named "nuc1" in the inventory; did you mean nuc-1?', what);
  }
  const far = await runCli(['node', 'show', 'office', ...S]);
  assert.equal(far.stderr.trim(), 'nixca: no node named "office" in the inventory (nixca node list shows them)');
});
