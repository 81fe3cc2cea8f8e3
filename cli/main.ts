#!/usr/bin/env node
// The composition root's entry: parse argv, run one command, map any error to one line on stderr
// and a stable exit code (cli/errors.ts EXIT_CODES). The only place that sets the exit code.
import { createRequire } from 'node:module';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import type { CliContext, RegisterGroup } from './context.js';
import { classify, EXIT_CODES } from './errors.js';
import { processIo, type Io } from './io.js';
import { ALLOW_INSECURE_PASSPHRASE_FILE } from './secrets.js';
/**
 * The command groups by their top-level command name, in the order help lists them. A group's
 * module is imported only when its command runs (or for help, completion and anything that is no
 * group's name): each command starts with its own group's code only, not all fifteen.
 */
export const GROUP_MODULES: ReadonlyArray<readonly [string, () => Promise<RegisterGroup>]> = [
  ['root', async () => (await import('./root.js')).registerRoot],
  ['issuer', async () => (await import('./issuer.js')).registerIssuer],
  ['inspect', async () => (await import('./inspect.js')).registerInspect],
  ['node', async () => (await import('./node.js')).registerNode],
  ['serve', async () => (await import('./serve.js')).registerServe],
  ['key', async () => (await import('./key.js')).registerKey],
  ['nixos', async () => (await import('./nixos.js')).registerNixos],
  ['cert', async () => (await import('./cert.js')).registerCert],
  ['renew-now', async () => (await import('./renew.js')).registerRenew],
  ['audit', async () => (await import('./audit.js')).registerAudit],
  ['status', async () => (await import('./status.js')).registerStatus],
  ['operator', async () => (await import('./operator.js')).registerOperator],
  ['db', async () => (await import('./db.js')).registerDb],
  ['account', async () => (await import('./account.js')).registerAccount],
  // completion walks the whole tree: it never runs alone.
  ['completion', async () => (await import('./completion.js')).registerCompletion],
];

/**
 * The groups a command line needs: the one it names, none for a bare --version, else all (help,
 * completion, an unknown command and its "did you mean").
 */
export function groupsFor(args: readonly string[]): readonly string[] {
  const all = GROUP_MODULES.map(([name]) => name);
  const first = args.find((a) => !a.startsWith('-'));
  if (first === undefined) return args.some((a) => a === '-V' || a === '--version') && !args.some((a) => a === '-h' || a === '--help') ? [] : all;
  return first !== 'completion' && all.includes(first) ? [first] : all;
}

function version(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  return pkg.version;
}

/** The program with the given groups (all by default), ready to parse. */
export async function buildProgram(ctx: CliContext, names: readonly string[] = GROUP_MODULES.map(([name]) => name)): Promise<Command> {
  const groups = await Promise.all(GROUP_MODULES.filter(([name]) => names.includes(name)).map(([, load]) => load()));
  const program = new Command('nixca')
    .description('Internal PKI for a Nix binary-cache fleet: root ceremony, ACME issuer, Nix signing keys, NixOS modules')
    .version(version(), '-V, --version')
    .option(ALLOW_INSECURE_PASSPHRASE_FILE, 'accept a --passphrase-file or --store-password-file that group or others can read (they can then read the key\'s passphrase or the database password)')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.io.err(s.replace(/\n$/, '')),
      // Errors are printed once, by run(), as one line.
      outputError: () => undefined,
    });
  // A program-wide flag, accepted before or after the subcommand; commands read ctx.io at action time.
  program.hook('preAction', () => {
    if (program.opts<{ allowInsecurePassphraseFile?: boolean }>().allowInsecurePassphraseFile) ctx.io = { ...ctx.io, allowInsecurePassphraseFile: true };
  });
  for (const group of groups) group(program, ctx);
  // Subcommands inherit exitOverride/configureOutput only when set before they are added; set again.
  const apply = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => ctx.io.out(s.replace(/\n$/, '')),
      writeErr: (s) => ctx.io.err(s.replace(/\n$/, '')),
      outputError: () => undefined,
    });
    cmd.commands.forEach(apply);
  };
  program.commands.forEach(apply);
  return program;
}

/** Runs one command line (argv without node and script) and returns the exit code. */
export async function run(args: readonly string[], io: Io): Promise<number> {
  try {
    const program = await buildProgram({ io }, groupsFor(args));
    await program.parseAsync([...args], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')) {
      return 0;
    }
    if (err instanceof CommanderError && err.code === 'commander.executeSubCommandAsync') return err.exitCode;
    const c = classify(err);
    io.err(`nixca: ${c.message}`);
    return EXIT_CODES[c.kind];
  }
}

const isEntry = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isEntry) {
  // Every file nixca creates (keys, stores, env files) is private unless a mode says otherwise.
  process.umask(0o077);
  process.exitCode = await run(process.argv.slice(2), processIo());
}
