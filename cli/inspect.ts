// `nixca inspect FILE`: a certificate, CSR or CRL (PEM or DER) in human form or --json. A PEM file
// with several blocks (a chain) shows each; --json then prints an array, else one object.
import type { Command } from 'commander';
import type { CliContext, RegisterGroup } from './context.js';
import { emit } from './io.js';

export const registerInspect: RegisterGroup = (program: Command, ctx: CliContext) => {
  program
    .command('inspect')
    .description('show a certificate, CSR or CRL (PEM or DER): subject, names, validity, constraints, key ids, fingerprints')
    .argument('<file>', 'the file to show')
    .option('--json', 'print JSON (an array when the file holds several PEM blocks)')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { resolve } = await import('node:path');
      const { readBytes } = await import('./files.js');
      const { inspectBytes, renderView } = await import('../src/ca/inspect.js');
      const views = await inspectBytes(await readBytes(resolve(ctx.io.cwd, file), 'file'));
      emit(ctx.io, opts, views.length === 1 ? views[0] : views, () => views.map(renderView).join('\n\n'));
    });
};
