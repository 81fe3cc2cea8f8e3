// `nixca serve`'s one typed configuration: every flag is a key of the --config file, flags
// override the file, --print-config shows the effective settings; all through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import { runCli } from '../helpers/cli.js';
import { SERVE_SETTINGS } from '../../src/config/serve.js';
import { redactUrlPassword, suggest } from '../../src/config/settings.js';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'nixca-config-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const printConfig = async (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const r = await runCli(['serve', ...args, '--print-config'], { cwd, env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

test('every setting has a flag whose commander name is its key', () => {
  for (const [key, s] of Object.entries(SERVE_SETTINGS)) assert.equal(new Option(s.flag).attributeName(), key, s.flag);
});

test('--print-config shows every key with defaults; its output is a valid --config file', async () => withDir(async (dir) => {
  const c = await printConfig([], dir, { NIXCA_STATE_DIR: '/srv/nixca' });
  assert.deepEqual(Object.keys(c).sort(), Object.keys(SERVE_SETTINGS).sort());
  assert.equal(c.state, '/srv/nixca');
  assert.equal(c.listen, '127.0.0.1:8443');
  assert.equal(c.leafLifetime, '7d');
  assert.equal(c.challengeWait, '1s');
  assert.equal(c.crl, true);
  assert.deepEqual(c.resolve, []);
  await writeFile(join(dir, 'again.json'), JSON.stringify(c));
  assert.deepEqual(await printConfig(['--config', 'again.json'], dir, { NIXCA_STATE_DIR: '/elsewhere' }), c);
}));

test('flags override the file; file paths are relative to the file; --dev defaults the state to ./nixca-state', async () => withDir(async (dir) => {
  await writeFile(join(dir, 'serve.json'), JSON.stringify({
    $schema: './schema.json', state: 'state', listen: '127.0.0.1:9443', leafLifetime: '36h', resolve: ['a.n3x.internal=127.0.0.1'], crl: false, logLevel: 'warn',
  }));
  const d = await printConfig(['--config', join(dir, 'serve.json'), '--listen', '[::1]:9444', '--log-level', 'debug', '--resolve', 'b.n3x.internal=127.0.0.2'], '/');
  assert.equal(d.state, join(dir, 'state'));
  assert.equal(d.listen, '[::1]:9444');
  assert.equal(d.logLevel, 'debug');
  assert.equal(d.leafLifetime, '1d12h');
  assert.equal(d.crl, false);
  assert.deepEqual(d.resolve, ['b.n3x.internal=127.0.0.2']);
  const dev = await printConfig(['--dev'], dir);
  assert.equal(dev.state, join(dir, 'nixca-state'));
}));

test('bad settings are usage errors (exit 2) naming the flag or the file key, before anything is created', async () => withDir(async (dir) => {
  const cases: [string[], RegExp][] = [
    [['--leaf-lifetime', '7'], /--leaf-lifetime must be a duration: .*a bare number has no unit/],
    [['--validation-timeout', '8'], /--validation-timeout must be a duration/],
    [['--challenge-wait', '1'], /--challenge-wait must be a duration/],
    [['--http01-port', '0'], /--http01-port must be a port number/],
    [['--eab', 'maybe'], /--eab must be one of required, optional/],
    [['--listen', 'nowhere'], /--listen must be HOST:PORT/],
    [['--no-crl', '--crl-url', 'http://x/'], /contradict/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(['serve', ...args, '--state', join(dir, 'never'), '--print-config'], { cwd: dir });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  await writeFile(join(dir, 'typo.json'), JSON.stringify({ leafLifetme: '7d' }));
  let r = await runCli(['serve', '--config', 'typo.json', '--print-config'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /typo\.json: unknown key "leafLifetme" \(did you mean "leafLifetime"\?\)/);
  await writeFile(join(dir, 'bare.json'), JSON.stringify({ leafLifetime: 7 }));
  r = await runCli(['serve', '--config', 'bare.json', '--print-config'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bare\.json: leafLifetime must be a duration string/);
  await writeFile(join(dir, 'broken.json'), '{ "listen": ');
  r = await runCli(['serve', '--config', 'broken.json', '--print-config'], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.json: not valid JSON/);
  r = await runCli(['serve', '--config', 'missing.json', '--print-config'], { cwd: dir });
  assert.equal(r.code, 7);
  assert.match(r.stderr, /missing\.json: no such file/);
}));

test('--print-config-schema lists every key and forbids unknown ones', async () => {
  const r = await runCli(['serve', '--print-config-schema']);
  assert.equal(r.code, 0, r.stderr);
  const schema = JSON.parse(r.stdout) as { additionalProperties: boolean; properties: Record<string, { description?: string }> };
  assert.equal(schema.additionalProperties, false);
  for (const key of Object.keys(SERVE_SETTINGS)) assert.ok(schema.properties[key]?.description, key);
});

test('secrets are redacted; suggestions', () => {
  assert.equal(redactUrlPassword('postgres://nixca:hunter2@db.internal/nixca'), 'postgres://nixca:redacted@db.internal/nixca');
  assert.equal(redactUrlPassword('postgres://nixca:hun@ter2@/nixca?host=/run/postgresql'), 'postgres://nixca:redacted@/nixca?host=/run/postgresql');
  assert.equal(redactUrlPassword('postgres://nixca@/nixca?host=/run/postgresql&password=hunter2'), 'postgres://nixca@/nixca?host=/run/postgresql&password=redacted');
  assert.equal(redactUrlPassword('postgres://nixca@/nixca?host=/run/postgresql'), 'postgres://nixca@/nixca?host=/run/postgresql');
  assert.equal(suggest('leafLifetme', Object.keys(SERVE_SETTINGS)), ' (did you mean "leafLifetime"?)');
  assert.equal(suggest('zzzzzz', Object.keys(SERVE_SETTINGS)), '');
});

test('--print-config never shows a password given in --store or --crl-url, from a flag or from --config', async () => withDir(async (dir) => {
  const file = join(dir, 'nixca.json');
  await writeFile(file, JSON.stringify({ store: 'postgres://nixca:hunter2@db.internal/nixca', crlUrl: 'http://crl:hunter3@mirror.n3x.internal/nixca.crl' }));
  const r = await runCli(['serve', '--config', file, '--print-config'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /hunter/);
  const c = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(c.store, 'postgres://nixca:redacted@db.internal/nixca');
  assert.equal(c.crlUrl, 'http://crl:redacted@mirror.n3x.internal/nixca.crl');
  const flag = await runCli(['serve', '--store', 'postgres://nixca:hunter4@/nixca?host=/run/postgresql', '--print-config'], { cwd: dir });
  assert.equal(flag.code, 0, flag.stderr);
  assert.doesNotMatch(flag.stdout, /hunter/);
  assert.equal((JSON.parse(flag.stdout) as Record<string, unknown>).store, 'postgres://nixca:redacted@/nixca?host=/run/postgresql');
}));
