// `nixca completion bash|zsh|fish`: each script parses in its shell and completes real commands
// and options taken from the commander tree (bash and fish are asked to complete for real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/cli.js';
import { buildProgram } from '../../cli/main.js';
import { commandTree } from '../../cli/completion.js';

const has = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;
const sh = (shell: string, args: string[]) => spawnSync(shell, args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nonexistent' }, timeout: 20_000 });

async function script(t: Parameters<typeof tempDir>[0], shell: string): Promise<{ file: string; text: string }> {
  const r = await runCli(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(await tempDir(t, `nixca-completion-${shell}-`), `nixca.${shell}`);
  await writeFile(file, r.stdout);
  return { file, text: r.stdout };
}

const tree = commandTree(await buildProgram({ io: { out: () => undefined, err: () => undefined, env: {}, cwd: '/', interactive: false, promptSecret: async () => '', now: () => new Date() } }));

test('the tree holds every command, including nested ones and their options', () => {
  const paths = tree.map((n) => n.path.join(' '));
  for (const p of ['', 'node', 'node add', 'key generate', 'root transcript verify', 'completion', 'serve']) assert.ok(paths.includes(p), p);
  assert.ok(tree.find((n) => n.path.join(' ') === 'key generate')!.options.some((o) => o.flag === '--activate'));
});

test('bash: parses (bash -n) and completes subcommands and options', async (t) => {
  const { file, text } = await script(t, 'bash');
  for (const n of tree) assert.ok(text.includes(`'${n.path.join(' ')}')`), n.path.join(' '));
  assert.equal(sh('bash', ['-n', file]).status, 0, sh('bash', ['-n', file]).stderr);
  const complete = (...words: string[]) => {
    const r = sh('bash', ['-c', `source ${file}; COMP_WORDS=(nixca ${words.join(' ')}); COMP_CWORD=${words.length}; _nixca; printf '%s\\n' "\${COMPREPLY[@]}"`]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  };
  assert.deepEqual(complete('node', 'a'), ['add']);
  assert.deepEqual(complete('--json', 'ke'), ['key']);
  assert.deepEqual(complete('key', 'generate', 'nuc-1', '--act'), ['--activate']);
  assert.deepEqual(complete('root', 'transcript', 've'), ['verify']);
});

test('zsh: parses (zsh -n)', async (t) => {
  if (!has('zsh')) return t.skip('zsh is not installed');
  const { file, text } = await script(t, 'zsh');
  assert.match(text, /^#compdef nixca\n/);
  const r = sh('zsh', ['-n', file]);
  assert.equal(r.status, 0, r.stderr);
  // Loaded for real: the completion function is defined and registered.
  const loaded = sh('zsh', ['-c', `source ${file} && whence -w _nixca && echo $_comps[nixca]`]);
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.match(loaded.stdout, /_nixca: function/);
});

test('fish: parses (fish -n) and completes subcommands and options', async (t) => {
  if (!has('fish')) return t.skip('fish is not installed');
  const { file } = await script(t, 'fish');
  const r = sh('fish', ['-n', file]);
  assert.equal(r.status, 0, r.stderr);
  const complete = (line: string) => {
    const c = sh('fish', ['-c', `source ${file}; complete -C '${line}'`]);
    assert.equal(c.status, 0, c.stderr);
    return c.stdout.trim().split('\n').map((l) => l.split('\t')[0]);
  };
  assert.deepEqual(complete('nixca node a'), ['add']);
  assert.ok(complete('nixca key generate nuc-1 --act').includes('--activate'));
  assert.ok(complete('nixca ').includes('completion'));
});

test('an unknown shell is a usage error', async () => {
  const r = await runCli(['completion', 'tcsh']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown shell "tcsh"; give one of bash, zsh, fish/);
});
