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
import { registerNode } from './node.js';
import { registerRoot } from './root.js';
import { registerIssuer } from './issuer.js';
import { registerInspect } from './inspect.js';
import { registerServe } from './serve.js';
import { registerKey } from './key.js';
import { registerNixos } from './nixos.js';
import { registerCert } from './cert.js';
import { registerRenew } from './renew.js';
import { registerAudit } from './audit.js';
import { registerStatus } from './status.js';
import { registerOperator } from './operator.js';
import { registerDb } from './db.js';
import { registerAccount } from './account.js';
import { registerCompletion } from './completion.js';

const GROUPS: RegisterGroup[] = [
  registerRoot,
  registerIssuer,
  registerInspect,
  registerNode,
  registerServe,
  registerKey,
  registerNixos,
  registerCert,
  registerRenew,
  registerAudit,
  registerStatus,
  registerOperator,
  registerDb,
  registerAccount,
  registerCompletion,
];

function version(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  return pkg.version;
}

export function buildProgram(ctx: CliContext): Command {
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
  for (const group of GROUPS) group(program, ctx);
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
  const program = buildProgram({ io });
  try {
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
