// A --store URL in a hint is pasted into a shell: what the shell hands back must be the URL itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { shellQuotedStoreUrl } from '../../src/store/pg/url.js';

test('shellQuotedStoreUrl: a plain URL as it is; one with ?, & or a quote quoted so that sh gives it back unchanged', () => {
  const plain = 'postgres://nixca@db.example:5432/nixca';
  assert.equal(shellQuotedStoreUrl(plain), plain);
  for (const url of [plain, 'postgres://nixca@/nixca?host=/run/postgresql&port=5433', "postgres://o'brien@/db?host=/tmp/a b", 'postgres:///db?host=/run/*']) {
    const r = spawnSync('sh', ['-c', `printf %s ${shellQuotedStoreUrl(url)}`], { encoding: 'utf8', cwd: '/' });
    assert.equal(r.stdout, url, `sh read back ${JSON.stringify(r.stdout)} for ${url}`);
  }
});
