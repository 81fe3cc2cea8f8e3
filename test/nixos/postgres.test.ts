// nix-module/nixca-postgres.nix (the issuer on the shared store) with nix-module/nixca.nix,
// evaluated by real nix 2.8 against the harness (nix-instantiate --eval --strict): a local
// services.postgresql with peer authentication, or a remote server with the password as a systemd
// credential; what the module sets is what the real CLI reads (--store / NIXCA_STORE, the
// credential name, `db migrate`, the URL form), and misuse fails an assertion.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { STORE_CREDENTIAL } from '../../cli/store-option.js';
import { poolConfig } from '../../src/store/pg/connect.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { HARNESS_DIR, NIX_MODULE, harnessExpr, nixEval, run, sandboxEnv } from './tools.js';

const PG_MODULE = resolve(HARNESS_DIR, '../../nix-module/nixca-postgres.nix');
const BASE = { enable: true, baseUrl: 'https://acme.n3x.internal:8443/', intermediateKeyPassphraseFile: '/run/agenix/nixca-intermediate' };
const PKG = '/nix/store/00000000000000000000000000000000-nixca-0.1.0';

interface Evaluated {
  failed: string[];
  pg: { enable: boolean; ensureDatabases: string[]; ensureUsers: { name: string; ensureDBOwnership: boolean }[] };
  svc: { serviceConfig: Record<string, unknown>; environment: Record<string, string>; requires: string[]; after: string[] };
  bin: { name: string; text: string }[];
}

async function evalDb(env: NodeJS.ProcessEnv, nixca: Record<string, unknown>, storeRoot?: string, postgresql: 'setup' | 'service' = 'setup'): Promise<Evaluated> {
  const select = 'h: { failed = h.failedAssertions; pg = h.config.services.postgresql; svc = h.config.systemd.services.nixca; bin = map (p: { inherit (p) name; text = p.text or ""; }) h.config.environment.systemPackages; }';
  return (await nixEval(env, harnessExpr({ modules: [NIX_MODULE, PG_MODULE], config: { services: { nixca } }, postgresql }, select), storeRoot ? { storeRoot } : {})) as Evaluated;
}

const argv = (execStart: unknown) => [...String(execStart).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);

test('local database: services.postgresql with the role and database, peer auth over /run/postgresql, db migrate before serve', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const v = await evalDb(env, { ...BASE, database: { enable: true } }, join(dir, 'store'));
  assert.deepEqual(v.failed, []);
  assert.deepEqual([v.pg.enable, v.pg.ensureDatabases, v.pg.ensureUsers], [true, ['nixca'], [{ name: 'nixca', ensureDBOwnership: true }]]);
  const url = 'postgres://nixca@/nixca?host=/run/postgresql&port=5432';
  assert.equal(v.svc.environment.NIXCA_STORE, url);
  // Current nixpkgs makes the role and database in postgresql-setup.service, after postgresql.service
  // is up: db migrate (peer auth as that role) must wait for postgresql.target, which requires both.
  assert.deepEqual([v.svc.requires, v.svc.after.includes('postgresql.target')], [['postgresql.target'], true]);
  // nixpkgs before 25.11 has no postgresql.target (its postgresql.service applied ensure* itself).
  const older = await evalDb(env, { ...BASE, database: { enable: true } }, join(dir, 'store'), 'service');
  assert.deepEqual([older.failed, older.svc.requires, older.svc.after.includes('postgresql.service')], [[], ['postgresql.service'], true]);
  assert.deepEqual(v.svc.serviceConfig.ExecStartPre, [`${PKG}/bin/nixca db migrate`]);
  // No password anywhere: no credential for it.
  assert.ok(!JSON.stringify(v.svc.serviceConfig.LoadCredential).includes(STORE_CREDENTIAL));

  // The --config file carries `store`, and the real CLI reads it as the shared store.
  const args = argv(v.svc.serviceConfig.ExecStart);
  const configFile = args[args.indexOf('--config') + 1]!;
  assert.equal((JSON.parse(await readFile(join(dir, 'store', configFile), 'utf8')) as { store: string }).store, url);
  const printed = await runCli(['serve', '--config', join(dir, 'store', configFile), '--print-config']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal((JSON.parse(printed.stdout) as { store: string }).store, url);
  // The URL as the driver will use it: the unix socket directory, the role of the Unix user, the database.
  const pc = await poolConfig({ url });
  assert.deepEqual([pc.host, pc.port, pc.user, pc.database, pc.password], ['/run/postgresql', 5432, 'nixca', 'nixca', undefined]);
  const migrateHelp = await runCli(['db', 'migrate', '--help']);
  assert.equal(migrateHelp.code, 0);

  // The operator's nixca on the host works on the same store.
  const text = v.bin[0]!.text;
  assert.match(text, /--setenv='NIXCA_STORE=postgres:\/\/nixca@\/nixca\?host=\/run\/postgresql&port=5432'/);
  const script = join(dir, 'nixca');
  await (await import('node:fs/promises')).writeFile(script, text);
  assert.equal((await run('bash', ['-n', script], env)).code, 0);
});

test('local database on another port (services.postgresql.settings.port): the URL names it, so the driver opens that socket file', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const select = 'h: { failed = h.failedAssertions; port = h.config.services.postgresql.settings.port; store = h.config.systemd.services.nixca.environment.NIXCA_STORE; bin = (builtins.head h.config.environment.systemPackages).text; }';
  const v = (await nixEval(env, harnessExpr({ modules: [NIX_MODULE, PG_MODULE], config: { services: { nixca: { ...BASE, database: { enable: true } }, postgresql: { settings: { port: 5433 } } } } }, select))) as { failed: string[]; port: number; store: string; bin: string };
  assert.deepEqual([v.failed, v.port], [[], 5433]);
  assert.equal(v.store, 'postgres://nixca@/nixca?host=/run/postgresql&port=5433');
  assert.ok(v.bin.includes(`--setenv='NIXCA_STORE=${v.store}'`), v.bin);
  // node-postgres, like libpq, connects to <host>/.s.PGSQL.<port> for a socket directory.
  const pc = await poolConfig({ url: v.store });
  assert.deepEqual([pc.host, pc.port], ['/run/postgresql', 5433]);
});

test('remote database: the URL without a password, the password as the credential the CLI reads', async (t) => {
  const env = await sandboxEnv(await tempDir(t));
  const url = 'postgres://nixca@db.internal:5432/nixca';
  const v = await evalDb(env, { ...BASE, database: { enable: true, createLocally: false, url, passwordFile: '/run/agenix/nixca-db' } });
  assert.deepEqual(v.failed, []);
  assert.equal(v.pg.enable, false, 'no local server');
  assert.deepEqual(v.svc.requires, []);
  assert.equal(v.svc.environment.NIXCA_STORE, url);
  assert.ok((v.svc.serviceConfig.LoadCredential as string[]).includes(`${STORE_CREDENTIAL}:/run/agenix/nixca-db`), JSON.stringify(v.svc.serviceConfig.LoadCredential));
  assert.match(v.bin[0]!.text, new RegExp(`--property='LoadCredential=${STORE_CREDENTIAL}:/run/agenix/nixca-db'`));
  assert.match(v.bin[0]!.text, /--setenv='NIXCA_STORE=postgres:\/\/nixca@db\.internal:5432\/nixca'/);
});

test('misuse fails an assertion that says why', async (t) => {
  const dir = await tempDir(t);
  const env = await sandboxEnv(dir);
  const failed = async (database: Record<string, unknown>, extra: Record<string, unknown> = {}) => (await evalDb(env, { ...BASE, ...extra, database: { enable: true, ...database } })).failed.join('\n');
  assert.match(await failed({ createLocally: false, url: 'postgres://nixca:hunter2@db.internal/nixca', passwordFile: '/run/agenix/db' }), /must not contain a password: use passwordFile/);
  assert.match(await failed({ createLocally: false }), /set url \(a remote database\) or createLocally = true/);
  assert.match(await failed({ createLocally: false, url: 'mysql://db/nixca' }), /must be a postgres:\/\/ URL/);
  // A role owns only the database of its own name (NixOS ensureDBOwnership), and peer auth maps the Unix user to it.
  const named = await failed({ name: 'pki' });
  assert.match(named, /database\.name \(pki\) must equal services\.nixca\.user \(nixca\)/);
  assert.match(named, /a database with the same name must be defined in `ensureDatabases`/);
  assert.match(await failed({ createLocally: false, url: 'postgres://nixca@db.internal/nixca', passwordFile: "/nix/store/00000000000000000000000000000000-db-password" }), /nixca-store-password.*would be in the Nix store/);
  assert.equal(await failed({}, { user: 'ca' }).then((f) => /must equal services\.nixca\.user \(ca\)/.test(f)), true);
  assert.equal(await failed({ name: 'ca' }, { user: 'ca' }), '');
});
