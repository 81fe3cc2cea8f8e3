// One duration grammar for every flag: found by walking the real command tree (so a new duration
// flag is covered without editing this test), each one given a bare number must fail with exit 2
// and the grammar, and accept a value in the grammar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../cli/main.js';
import { runCli, tempDir } from '../helpers/cli.js';

async function durationFlags(): Promise<{ path: string[]; flag: string; mandatory: string[]; args: string[] }[]> {
  const quiet = { out: () => undefined, err: () => undefined, env: {}, cwd: '/', interactive: false, promptSecret: async () => '', now: () => new Date() };
  const out: { path: string[]; flag: string; mandatory: string[]; args: string[] }[] = [];
  const walk = (cmd: Command, path: string[]) => {
    // Required arguments and options get placeholders, so the duration is what the command trips over.
    const mandatory = cmd.options.filter((o) => o.mandatory).map((o) => o.long!);
    const args = cmd.registeredArguments.filter((a) => a.required).map(() => 'placeholder');
    for (const o of cmd.options) if (/<(duration|time)>/.test(o.flags)) out.push({ path, flag: o.long!, mandatory: mandatory.filter((m) => m !== o.long), args });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(await buildProgram({ io: quiet }), []);
  return out;
}

test('every duration flag of every command refuses a bare number, showing the grammar', async (t) => {
  const flags = await durationFlags();
  const names = flags.map((f) => `${f.path.join(' ')} ${f.flag}`);
  // The ones the grammar was written for must be among those found.
  for (const known of ['root init --validity', 'root sign-intermediate --validity', 'root crl --next-update', 'key rotate --min-overlap', 'key rotate --min-prepublish', 'serve --leaf-lifetime', 'serve --challenge-wait', 'audit show --since', 'status --timeout', 'nixos emit --connect-timeout']) {
    assert.ok(names.includes(known), `${known} not found among ${names.join(', ')}`);
  }
  const dir = await tempDir(t);
  for (const { path, flag, mandatory, args } of flags) {
    const r = await runCli([...path, ...args, flag, '30', '--state', dir, ...mandatory.flatMap((m) => [m, dir])], { cwd: dir });
    assert.equal(r.code, 2, `${path.join(' ')} ${flag} 30: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${flag} must be .*a duration: a whole number with a unit .*30d, 12h, 90m, 45s`), `${path.join(' ')} ${flag}`);
  }
});
