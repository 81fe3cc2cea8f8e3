// Lint rules, including the import directions of docs/DESIGN.md ("folders are the architecture").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ours = (...folders) => folders.flatMap((f) => [`**/${f}/**`, `**/${f}`]);
const restrict = (patterns, message) => ({ group: patterns, message });
// node-postgres stays behind the store interfaces: every other folder sees the shared store only
// through src/store/pg's exports (a flat config's later rule replaces an earlier one, so each
// block that restricts imports lists it).
const PG = { regex: '^pg(/.*)?$|^pg-', message: 'Only src/store/pg/ imports node-postgres (pg); use its exports.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Library code never reads the environment or decides the exit code: cli/ is the composition root.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error',
        { object: 'process', property: 'env', message: 'Only cli/ reads the environment; pass values in.' },
        { object: 'process', property: 'exit', message: 'Only cli/main.ts decides exit codes.' },
        { object: 'process', property: 'exitCode', message: 'Only cli/main.ts decides exit codes.' },
        { object: 'process', property: 'argv', message: 'Only cli/ reads argv.' }],
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('cli'), 'src/ never imports cli/ (cli is the composition root).'),
        restrict(['lowdb', 'lowdb/*'], 'Only src/store/lowdb.ts touches lowdb.'),
        restrict(['fastify', 'fastify/*', '@fastify/*'], 'Only src/acme/http/ and src/dashboard/http/ use fastify.'),
      ] }],
    },
  },
  {
    files: ['src/ca/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('acme', 'store', 'signing', 'nixos', 'inventory', 'audit', 'cli'), 'src/ca is certificate math and imports nothing else of ours.'),
        restrict(['lowdb', 'lowdb/*', 'fastify', 'fastify/*'], 'src/ca does no I/O.'),
      ] }],
    },
  },
  {
    files: ['src/signing/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('acme', 'store', 'nixos', 'cli'), 'src/signing depends only on src/ca, src/inventory and libraries.'),
        restrict(['lowdb', 'lowdb/*', 'fastify', 'fastify/*'], 'src/signing does no storage or HTTP.'),
      ] }],
    },
  },
  {
    files: ['src/acme/**/*.ts'],
    ignores: ['src/acme/http/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('store', 'cli', 'nixos', 'http'), 'The ACME core declares the interfaces it needs; cli wires stores and HTTP to it.'),
        restrict(['lowdb', 'lowdb/*', 'fastify', 'fastify/*', '@fastify/*'], 'The ACME core never imports fastify or lowdb.'),
      ] }],
    },
  },
  {
    files: ['src/acme/http/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('store', 'cli', 'nixos'), 'HTTP code sees the ACME core, never a concrete store.'),
        restrict(['lowdb', 'lowdb/*'], 'Only src/store/lowdb.ts touches lowdb.'),
      ] }],
    },
  },
  {
    // The ceremony is a library: the CLI and tests call its steps with plain values.
    files: ['src/ceremony/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('cli'), 'src/ceremony never imports cli/ (flags, prompts and exit codes stay there).'),
        restrict(['commander', 'commander/*'], 'src/ceremony never imports commander (flags stay in cli/).'),
        restrict(['fastify', 'fastify/*', '@fastify/*'], 'src/ceremony never imports fastify (it runs offline).'),
        restrict(['lowdb', 'lowdb/*'], 'Only src/store/lowdb.ts touches lowdb.'),
      ] }],
    },
  },
  {
    // The dashboard reads; it never opens a store itself (cli wires the running issuer's handles in).
    files: ['src/dashboard/**/*.ts'],
    ignores: ['src/dashboard/http/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('store', 'cli', 'nixos', 'acme'), 'The dashboard reads through the interfaces cli passes in, never a concrete store or the ACME core.'),
        restrict(['lowdb', 'lowdb/*', 'fastify', 'fastify/*', '@fastify/*'], 'Only src/dashboard/http/ uses fastify in the dashboard.'),
      ] }],
    },
  },
  {
    files: ['src/dashboard/http/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('store', 'cli', 'nixos', 'acme'), 'Dashboard HTTP code sees the dashboard model, never a concrete store or the ACME core.'),
        restrict(['lowdb', 'lowdb/*'], 'Only src/store/lowdb.ts touches lowdb.'),
      ] }],
    },
  },
  {
    // The operations API is reached by the CLI, the admin socket and (later) a shared database:
    // it sees stores only through the interfaces it declares, never a concrete one.
    files: ['src/ops/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('store', 'cli', 'nixos', 'http'), 'src/ops sees stores through interfaces; cli wires concrete ones.'),
        restrict(['lowdb', 'lowdb/*', 'fastify', 'fastify/*', '@fastify/*'], 'src/ops does no storage or HTTP of its own.'),
      ] }],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    ignores: ['src/store/lowdb.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        PG,
        restrict(ours('cli'), 'src/ never imports cli/.'),
        restrict(['lowdb', 'lowdb/*'], 'Only src/store/lowdb.ts touches lowdb.'),
        restrict(['fastify', 'fastify/*'], 'Only src/acme/http/ and src/dashboard/http/ use fastify.'),
      ] }],
    },
  },
  {
    files: ['src/store/lowdb.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [PG, restrict(ours('cli'), 'src/ never imports cli/.')] }],
    },
  },
  {
    files: ['src/store/pg/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        restrict(ours('cli'), 'src/ never imports cli/.'),
        restrict(['lowdb', 'lowdb/*'], 'Only src/store/lowdb.ts touches lowdb.'),
        restrict(['fastify', 'fastify/*'], 'Only src/acme/http/ and src/dashboard/http/ use fastify.'),
      ] }],
    },
  },
  {
    // cli/ wires stores together; it reaches PostgreSQL only through src/store/pg.
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [PG] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
