// `nixca issuer …`: flags, prompts and rendering for the issuer state directory; the work is
// src/ceremony/issuer-dir.ts (which also documents the layout).
import type { Command } from 'commander';
import { STATE_OPTION_HELP, stateDir, type CliContext, type RegisterGroup } from './context.js';
import { emit } from './io.js';

const PASSPHRASE_HELP = '(else $CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, else';

export const registerIssuer: RegisterGroup = (program: Command, ctx: CliContext) => {
  const issuer = program.command('issuer').description("the online issuer's intermediate: make its key and CSR, install the certificate the root signed");

  issuer
    .command('init')
    .description('create the intermediate key (encrypted, 0600) and its CSR in STATE/issuer; the key never leaves it')
    .requiredOption('--name <cn>', 'intermediate common name, e.g. "n3x Issuing CA 1"')
    .option('--key-algorithm <alg>', 'ECDSA-P256 (default) or ECDSA-P384')
    .option('--passphrase-file <file>', `file holding the new passphrase ${PASSPHRASE_HELP} asked twice)`)
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; keyAlgorithm?: string; passphraseFile?: string; state?: string; json?: boolean }) => {
      const { resolve } = await import('node:path');
      const { getPassphrase, ISSUER_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
      const { initIssuer } = await import('../src/ceremony/issuer-dir.js');
      const { colonHex } = await import('../src/ca/inspect.js');
      const result = await initIssuer({
        state: resolve(ctx.io.cwd, stateDir(ctx, opts.state)),
        name: opts.name,
        keyAlgorithm: opts.keyAlgorithm,
        passphrase: () => getPassphrase(ctx.io, { file: opts.passphraseFile, credential: ISSUER_PASSPHRASE_CREDENTIAL, confirm: true, purpose: 'new intermediate key' }),
      });
      emit(ctx.io, opts, result, (r) =>
        [
          `intermediate key and CSR created in ${r.dir}`,
          `  key:  ${r.key} (${r.keyAlgorithm}, encrypted, 0600; it never leaves this machine)`,
          `  CSR:  ${r.csr} (${r.subject})`,
          `  key (SPKI) SHA-256: ${colonHex(r.spkiSha256)}`,
          '  Carry the CSR to the root ceremony (nixca root sign-intermediate) and compare this fingerprint there.',
        ].join('\n'),
      );
    });

  issuer
    .command('install')
    .description('install the intermediate certificate signed by the root, after checking it matches the key and chains to the root')
    .requiredOption('--cert <file>', 'the intermediate certificate from "nixca root sign-intermediate"')
    .requiredOption('--root <file>', 'the root certificate (root.pem from the ceremony)')
    .option('--passphrase-file <file>', `file holding the intermediate key passphrase ${PASSPHRASE_HELP} a prompt)`)
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { cert: string; root: string; passphraseFile?: string; state?: string; json?: boolean }) => {
      const { resolve } = await import('node:path');
      const { getPassphrase, ISSUER_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
      const { installIssuer } = await import('../src/ceremony/issuer-dir.js');
      const { colonHex } = await import('../src/ca/inspect.js');
      const result = await installIssuer({
        state: resolve(ctx.io.cwd, stateDir(ctx, opts.state)),
        certPath: resolve(ctx.io.cwd, opts.cert),
        rootPath: resolve(ctx.io.cwd, opts.root),
        passphrase: () => getPassphrase(ctx.io, { file: opts.passphraseFile, credential: ISSUER_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'intermediate key' }),
        now: ctx.io.now(),
      });
      emit(ctx.io, opts, result, (r) =>
        [
          `issuer installed in ${r.dir}`,
          `  intermediate: ${r.subject}, serial ${r.serial}, valid until ${r.notAfter}`,
          `  permitted:    ${r.permittedDns.map((d) => 'DNS:' + d).join(', ') || '-'}`,
          `  SHA-256:      ${colonHex(r.sha256)}`,
          `  root SHA-256: ${colonHex(r.rootSha256)}  (compare with the ceremony record)`,
        ].join('\n'),
      );
    });
};
