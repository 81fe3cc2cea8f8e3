// `nixca cert …`: issued leaf certificates. `revoke` is an operation (src/ops): applied inside the
// running issuer through its admin socket (CRL republished at once), else on the store directly.
// `list` and `show` read the store (read-only, so they work next to a running issuer).
import type { Command } from 'commander';
import { STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';
import { ADMIN_SOCKET_OPTION_HELP } from './ops.js';
import { addStoreOptions, storeSelection, type StoreFlags } from './store-option.js';
import type { CertificateView } from '../src/ops/queries.js';
import type { AcmeStore } from '../src/acme/store.js';
import type { AriPollData } from '../src/status/ari-polls.js';

/** Opens the store read-only (never the writer lock) with the ARI record, runs `fn`, closes. */
export async function withReadStore<T>(ctx: CliContext, flags: StoreFlags, fn: (r: { store: AcmeStore; polls: AriPollData; dir: string }) => Promise<T>): Promise<T | undefined> {
  const { join } = await import('node:path');
  const { exists } = await import('./files.js');
  const { ACME_DIR } = await import('../src/store/acme.js');
  const { openSelectedStore } = await import('../src/store/open.js');
  const sel = storeSelection(ctx, flags);
  const dir = sel.state;
  const { requireStateDir } = await import('./state-dir.js');
  await requireStateDir(dir);
  if (sel.url === undefined && !(await exists(join(dir, ACME_DIR)))) return undefined;
  const opened = await openSelectedStore(sel, { readOnly: true });
  try {
    return await fn({ store: opened.acme, polls: await opened.readAriPolls(), dir });
  } finally {
    await opened.acme.close();
  }
}

function certLine(c: CertificateView): string {
  const st = c.status === 'revoked' ? `REVOKED (${c.revocation!.reason})` : c.status;
  return `${c.serial}  ${c.node ?? '-'}  ${st}  until ${c.notAfter}  ${c.names.join(' ')}`;
}

function certText(c: CertificateView & { chainPem: string | null }): string {
  return [
    `certificate ${c.serial}`,
    `  node:       ${c.node ?? '-'}`,
    `  names:      ${c.names.join(', ')}`,
    `  status:     ${c.status}${c.revocation ? ` (${c.revocation.reason}, ${c.revocation.revokedAt}, by ${c.revocation.by})` : ''}`,
    `  validity:   ${c.notBefore} – ${c.notAfter}`,
    `  issued:     ${c.issuedAt} to account ${c.accountId}`,
    `  replaces:   ${c.replaces ?? '-'}`,
    `  ARI:        ${c.ari ? `renewalInfo fetched ${c.ari.count}× (last ${c.ari.lastAt}${c.ari.userAgent ? `, ${c.ari.userAgent}` : ''})` : 'renewalInfo never fetched'}`,
  ].join('\n');
}

export const registerCert: RegisterGroup = (program: Command, ctx: CliContext) => {
  const cert = program.command('cert').description('issued leaf certificates');

  addStoreOptions(cert
    .command('revoke'))
    .description('revoke a certificate by serial, or every unexpired certificate of a node (through the running issuer if there is one)')
    .argument('[serial]', 'certificate serial (hex; colons allowed)')
    .option('--node <node>', 'revoke every unexpired, unrevoked certificate of this node')
    .requiredOption('--reason <reason>', 'RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--admin-socket <path>', ADMIN_SOCKET_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (serial: string | undefined, opts: StoreFlags & { node?: string; reason: string; adminSocket?: string; json?: boolean }) => {
      if (!serial === !opts.node) throw new CliError('usage', 'give exactly one of SERIAL or --node NODE');
      const { revocationReasonCode } = await import('../src/ops/revoke.js');
      const { REVOCATION_REASONS } = await import('../src/acme/revocation.js');
      const reason = revocationReasonCode(opts.reason);
      if (reason === undefined) throw new CliError('usage', `--reason must be one of ${Object.values(REVOCATION_REASONS).join(', ')} (RFC 5280 §5.3.1), got ${JSON.stringify(opts.reason)}`);
      const { runOperation, printResult } = await import('./ops.js');
      const r = await runOperation(ctx, opts, serial ? { op: 'cert.revoke', serial, reason } : { op: 'cert.revoke-node', node: opts.node!, reason });
      printResult(ctx, opts.json, r);
    });

  addStoreOptions(cert
    .command('list'))
    .description('issued certificates, newest first')
    .option('--node <node>', 'only this node')
    .option('--status <status>', 'valid, expired or revoked')
    .option('--expiring <duration>', 'only valid certificates expiring within this duration (e.g. 2d, 36h)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: StoreFlags & { node?: string; status?: string; expiring?: string; json?: boolean }) => {
      if (opts.status && !['valid', 'expired', 'revoked'].includes(opts.status)) throw new CliError('usage', `--status must be valid, expired or revoked, got ${JSON.stringify(opts.status)}`);
      const { parseDuration } = await import('../src/config/duration.js');
      const within = opts.expiring ? parseDuration('--expiring', opts.expiring) : undefined;
      const { listCertificates } = await import('../src/ops/queries.js');
      const list = (await withReadStore(ctx, opts, ({ store, polls }) =>
        listCertificates(store, { node: opts.node, status: opts.status as CertificateView['status'] | undefined, expiringWithinMs: within }, ctx.io.now(), polls),
      )) ?? [];
      emit(ctx.io, opts, list, (l) => (l.length ? l.map(certLine).join('\n') : 'no certificates match'));
    });

  addStoreOptions(cert
    .command('show'))
    .description('one certificate: names, validity, revocation, ARI fetches, and its PEM chain with --json')
    .argument('<serial>')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (serial: string, opts: StoreFlags & { json?: boolean }) => {
      const { showCertificate } = await import('../src/ops/queries.js');
      const c = await withReadStore(ctx, opts, ({ store, polls }) => showCertificate(store, serial, ctx.io.now(), polls));
      if (!c) throw new CliError('not-found', 'no certificate was issued yet (no ACME store)');
      emit(ctx.io, opts, c, certText);
    });
};
