// One writer per ACME store, between processes: real concurrent starts, not one process's promises.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openAcmeStore } from '../../src/store/acme.js';
import { tempDir } from '../helpers/cli.js';
import { holdLockInChild } from '../helpers/lock.js';

const STORE_MODULE = pathToFileURL(fileURLToPath(new URL('../../src/store/acme.js', import.meta.url))).href;

/**
 * Starts `n` processes that each open the store `perProcess` times at once, all on "go", and
 * reports how many opens became the writer. Every open is its own open file description, so the
 * kernel lock separates opens in one process as it does processes (fewer node start-ups).
 */
async function concurrentStarters(state: string, n: number, perProcess: number): Promise<{ writers: number; readers: number }> {
  const code = `const { openAcmeStore } = await import(${JSON.stringify(STORE_MODULE)});
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  const stores = await Promise.all(Array.from({ length: ${perProcess} }, () => openAcmeStore(${JSON.stringify(state)})));
  const w = stores.filter((s) => !s.readOnly).length;
  process.stdout.write('writers=' + w + ' readers=' + (stores.length - w) + '\\n');
  process.stdin.once('end', () => Promise.all(stores.map((s) => s.close())).then(() => process.exit(0)));
});`;
  const children = Array.from({ length: n }, () => spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs: Array<() => string> = [];
  const lines = children.map((c) => {
    c.stdout.setEncoding('utf8');
    let buf = '';
    const waiters: Array<[string, () => void]> = [];
    outputs.push(() => buf);
    c.stdout.on('data', (d: string) => {
      buf += d;
      for (const w of [...waiters]) if (buf.includes(w[0])) w[1]();
    });
    return (word: string) => new Promise<void>((resolve, reject) => {
      if (buf.includes(word)) return resolve();
      waiters.push([word, resolve]);
      c.once('exit', (x) => reject(new Error(`starter exited ${String(x)}: ${buf}`)));
    });
  });
  try {
    await Promise.all(lines.map((l) => l('ready')));
    for (const c of children) c.stdin.write('go\n');
    await Promise.all(lines.map((l) => l('readers=')));
    let writers = 0;
    let readers = 0;
    for (const out of outputs) {
      const m = /writers=(\d+) readers=(\d+)/.exec(out())!;
      writers += Number(m[1]);
      readers += Number(m[2]);
    }
    return { writers, readers };
  } finally {
    await Promise.all(children.map((c) => new Promise((r) => {
      if (c.exitCode !== null) return r(undefined);
      c.once('exit', r);
      c.stdin.end();
    })));
  }
}

test('40 starters (8 processes × 5 opens) at once on a store with a stale lock file: exactly one writer', async (t) => {
  const state = await tempDir(t);
  await openAcmeStore(state).then((s) => s.close());
  // Left by a writer killed long ago, and naming a PID that is now some unrelated live process.
  await writeFile(join(state, 'acme', 'writer.lock'), '1\n');
  for (let round = 0; round < 3; round++) {
    const { writers, readers } = await concurrentStarters(state, 8, 5);
    assert.deepEqual({ writers, readers }, { writers: 1, readers: 39 }, `round ${round}`);
  }
  // After they are all gone, the next open writes (nothing was left behind).
  const next = await openAcmeStore(state);
  assert.equal(next.readOnly, false);
  await next.close();
});

test('a live writer in another process makes an open read-only, naming it; once it is killed, the next open writes', async (t) => {
  const state = await tempDir(t);
  await openAcmeStore(state).then((s) => s.close());
  const holder = await holdLockInChild(join(state, 'acme', 'writer.lock'));
  t.after(() => holder.stop('SIGKILL'));
  const ro = await openAcmeStore(state);
  assert.equal(ro.readOnly, true);
  await assert.rejects(ro.putRevocation({ serial: '01', reason: 0, revokedAt: new Date().toISOString(), by: 'operator' }), (err: Error) => err.name === 'StoreLockedError' && err.message.includes(`process ${holder.pid}`));
  await ro.close();
  await holder.stop('SIGKILL');
  const rw = await openAcmeStore(state);
  assert.equal(rw.readOnly, false);
  await rw.close();
});
