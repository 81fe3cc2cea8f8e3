// `nixca cert revoke SERIAL|--node NODE --reason REASON`: the operator's revocation, next to ACME
// revokeCert (RFC 8555 §7.6). Writes a RevocationRecord (by: 'operator') through the ACME store,
// then an audit entry. Reasons are RFC 5280 §5.3.1 CRLReason names.
import type { Command } from 'commander';
import { STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { addStoreOptions, storeSelection, type StoreFlags } from './store-option.js';
import { CliError } from './errors.js';
import { emit } from './io.js';

export const registerCert: RegisterGroup = (program: Command, ctx: CliContext) => {
  const cert = program.command('cert').description('issued leaf certificates');

  addStoreOptions(cert
    .command('revoke'))
    .description('revoke a certificate by serial, or every unexpired certificate of a node (recorded in the ACME store and the audit log)')
    .argument('[serial]', 'certificate serial (hex; colons allowed)')
    .option('--node <node>', "revoke every unexpired, unrevoked certificate of this node")
    .requiredOption('--reason <reason>', 'RFC 5280 reason: unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (serialArg: string | undefined, opts: StoreFlags & { node?: string; reason: string; json?: boolean }) => {
      if (!serialArg === !opts.node) throw new CliError('usage', 'give exactly one of SERIAL or --node NODE');
      const { REVOCATION_REASONS } = await import('../src/acme/revocation.js');
      const reasonEntry = Object.entries(REVOCATION_REASONS).find(([, name]) => name.toLowerCase() === opts.reason.toLowerCase());
      if (!reasonEntry) throw new CliError('usage', `--reason must be one of ${Object.values(REVOCATION_REASONS).join(', ')} (RFC 5280 §5.3.1), got ${JSON.stringify(opts.reason)}`);
      const [codeText, reasonName] = reasonEntry;
      const reason = Number(codeText);
      const { normalizeSerial } = await import('../src/ca/serial.js');
      const { exists } = await import('./files.js');
      const { join } = await import('node:path');
      const { ACME_DIR } = await import('../src/store/acme.js');
      const { openSelectedStore } = await import('../src/store/open.js');
      const { recordAudit } = await import('./audit.js');
      const sel = storeSelection(ctx, opts);
      const state = sel.state;
      if (sel.url === undefined && !(await exists(join(state, ACME_DIR)))) throw new CliError('not-found', `no ACME store in ${state}: nothing was issued yet`);
      const now = ctx.io.now();
      // The embedded ACME store has one writer (acme/writer.lock); docs/operations.md "Running next
      // to nixca serve". The shared store has many: every issuer's CRL follows within seconds.
      const { acme: store, kind } = await openSelectedStore(sel);
      // The store has one writer: while `nixca serve` holds it, the open is read-only and a
      // revocation here would not reach the running issuer's CRL anyway.
      if (store.readOnly) {
        await store.close();
        throw new CliError('conflict', 'the running issuer (nixca serve) holds the ACME store: revoke through ACME revokeCert, or stop the issuer, revoke, and start it again');
      }
      const revoked: { serial: string; node: string | null; names: string[]; notAfter: string }[] = [];
      // With --node, a failure after some revocations must still audit those that happened.
      let failure: unknown;
      try {
        let targets;
        if (serialArg) {
          const serial = normalizeSerial(serialArg);
          if (!serial) throw new CliError('usage', `not a hex serial: ${JSON.stringify(serialArg)}`);
          const c = await store.getCertificate(serial);
          if (!c) throw new CliError('not-found', `no certificate with serial ${serial} was issued here`);
          if (await store.getRevocation(serial)) throw new CliError('conflict', `certificate ${serial} is already revoked`);
          targets = [c];
        } else {
          const all = await store.listCertificates({ node: opts.node, validAt: now });
          targets = [];
          for (const c of all) if (!(await store.getRevocation(c.serial))) targets.push(c);
          if (targets.length === 0) throw new CliError('not-found', `node ${opts.node} has no unexpired, unrevoked certificate`);
        }
        for (const c of targets) {
          // Revocation first, audit second: a damaged audit log must never stop a revocation.
          await store.putRevocation({ serial: c.serial, reason, revokedAt: now.toISOString(), by: 'operator' });
          revoked.push({ serial: c.serial, node: c.node, names: c.names, notAfter: c.notAfter });
        }
      } catch (err) {
        failure = err;
      } finally {
        await store.close();
      }
      if (revoked.length) try {
        await recordAudit(state, revoked.map((c) => ({
          type: 'certificate.revoked' as const,
          subject: c.serial,
          node: c.node,
          details: { serial: c.serial, reason: reasonName, reasonCode: reason, by: 'operator', names: c.names, notAfter: c.notAfter },
          time: now,
        })));
      } catch (err) {
        throw new CliError('io', `revoked ${revoked.map((r) => r.serial).join(', ')}, but the audit log refused the entry: ${(err as Error).message}`);
      }
      if (failure) throw failure;
      emit(ctx.io, opts, { reason: reasonName, reasonCode: reason, revokedAt: now.toISOString(), revoked }, (r) =>
        r.revoked.map((c) => `revoked ${c.serial} (${c.node ?? 'no node'}: ${c.names.join(' ')}) reason ${r.reason}`).join('\n') +
          (kind === 'postgres' ? '\nevery running issuer on this store publishes it in its CRL within seconds' : '\nthe issuer sees this revocation (CRL, revokeCert) when it next opens the store'),
      );
    });
};
