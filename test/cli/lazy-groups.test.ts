// A command loads its own group's module only (cli/main.ts GROUP_MODULES): the table must name
// each group by the command it registers, and a real process must not open the other groups.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { buildProgram, GROUP_MODULES, groupsFor } from '../../cli/main.js';
import { NIXCA_BIN, tempDir } from '../helpers/cli.js';

const quiet = { out: () => undefined, err: () => undefined, env: {}, cwd: '/', interactive: false, promptSecret: async () => '', now: () => new Date() };

test('each group module registers exactly the top-level command the table names it by, in help order', async () => {
  for (const [name] of GROUP_MODULES) {
    const program = await buildProgram({ io: quiet }, [name]);
    assert.deepEqual(program.commands.map((c) => c.name()), [name]);
  }
  const all = await buildProgram({ io: quiet });
  assert.deepEqual(all.commands.map((c) => c.name()), GROUP_MODULES.map(([name]) => name));
});

test('groupsFor: the named group alone; none for a bare --version; all for help, completion and unknown commands', () => {
  const all = GROUP_MODULES.map(([name]) => name);
  assert.deepEqual(groupsFor(['node', 'list', '--json']), ['node']);
  assert.deepEqual(groupsFor(['--allow-insecure-passphrase-file', 'root', 'init']), ['root']);
  assert.deepEqual(groupsFor(['renew-now', '--all']), ['renew-now']);
  assert.deepEqual(groupsFor(['--version']), []);
  assert.deepEqual(groupsFor(['-V']), []);
  for (const args of [[], ['--help'], ['-V', '--help'], ['help', 'node'], ['completion', 'bash'], ['nod', 'list']]) assert.deepEqual(groupsFor(args), all, args.join(' '));
});

const hasStrace = spawnSync('strace', ['-o', '/dev/null', 'true']).status === 0;

test('a real process opens only its own group module (strace)', { skip: hasStrace ? false : 'strace is not installed (Debian package strace)' }, async (t) => {
  const dir = await tempDir(t);
  const groupFiles = (args: string[]) => {
    const trace = join(dir, `trace-${args.join('-')}`);
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', trace, process.execPath, NIXCA_BIN, ...args], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, opened: readFile(trace, 'utf8') };
  };
  const modules = new Map([['root', 'root.js'], ['node', 'node.js'], ['status', 'status.js'], ['serve', 'serve.js'], ['key', 'key.js']]);
  const openedGroups = async (text: Promise<string>) => {
    // strace -f splits a call another thread interrupts ('<unfinished ...>', its result on a later
    // line): every openat of a path counts but those that failed on their own line.
    const files = (await text).split('\n').filter((l) => !/= -1 /.test(l)).flatMap((l) => [...l.matchAll(/openat\([^"]*"([^"]+)"/g)].map((m) => m[1]!)).filter((f) => f.startsWith(join(NIXCA_BIN, '..') + '/'));
    return [...modules].filter(([, file]) => files.some((f) => basename(f) === file)).map(([name]) => name);
  };
  const version = groupFiles(['--version']);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.deepEqual(await openedGroups(version.opened), []);
  const nodeHelp = groupFiles(['node', '--help']);
  assert.match(nodeHelp.stdout, /\badd\b/);
  assert.deepEqual(await openedGroups(nodeHelp.opened), ['node']);
  const help = groupFiles(['--help']);
  assert.deepEqual(await openedGroups(help.opened), [...modules.keys()], 'help lists every group');
  await rm(dir, { recursive: true, force: true });
});
