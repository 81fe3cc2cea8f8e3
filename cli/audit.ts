// `nixca audit …`: the tamper-evident log of what the issuer did (src/audit). `verify` checks the
// chain, every signature and the signer's certificate; `show` lists entries; `head` prints the
// newest entry's hash to anchor elsewhere; `certify` has the intermediate certify the audit key.
import type { Command } from 'commander';
import { collect, STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { existingStateDir } from './state-dir.js';
import { CliError } from './errors.js';
import { DURATION_GRAMMAR, parseDuration } from '../src/config/duration.js';
import { emit } from './io.js';
import { addStoreOptions, storeSelection, type StoreFlags } from './store-option.js';
import type { AuditEvent } from '../src/audit/log.js';
import type { AuditTrust } from '../src/audit/verify.js';

/**
 * Appends audit entries for a command that changed state (node.ts, renew.ts, cert.ts, key.ts).
 * Lazy: commands that never record anything do not load the audit code.
 */
export async function recordAudit(state: string, events: AuditEvent | AuditEvent[]): Promise<void> {
  const { appendAudit } = await import('../src/audit/log.js');
  await appendAudit(state, events);
}

/** `--since`: an ISO 8601 instant, or a duration (the one grammar) back from now: 30m, 24h, 7d. */
export function parseSince(text: string, now: Date): Date {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) {
    try {
      return new Date(now.getTime() - parseDuration('--since', text, { allowZero: true }));
    } catch {
      throw new CliError('usage', `--since must be an ISO 8601 time (2026-01-31T12:00:00Z) or ${DURATION_GRAMMAR}; got ${JSON.stringify(text)}`);
    }
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new CliError('usage', `--since is not a valid ISO 8601 time: ${JSON.stringify(text)}`);
  return d;
}

/** The intermediate(s) and root to check the audit certificate with: flags, else the installed issuer. */
async function auditTrust(state: string, opts: { root?: string; intermediate?: string[] }) {
  const { join } = await import('node:path');
  const { exists } = await import('./files.js');
  const { ISSUER_DIR, ISSUER_FILES } = await import('../src/ceremony/issuer-dir.js');
  const { readCert } = await import('../src/ceremony/certificate-file.js');
  const interPaths = opts.intermediate?.length ? opts.intermediate : [join(state, ISSUER_DIR, ISSUER_FILES.cert)];
  const intermediates = [];
  for (const p of interPaths) if (opts.intermediate?.length || (await exists(p))) intermediates.push(await readCert(p, 'intermediate certificate'));
  const rootPath = opts.root ?? join(state, ISSUER_DIR, ISSUER_FILES.root);
  const root = opts.root || (await exists(rootPath)) ? await readCert(rootPath, 'root certificate') : undefined;
  return { intermediates, root };
}

/** The shared chain (--store): verified as one chain with one certified key per instance. */
async function verifyShared(sel: ReturnType<typeof storeSelection>, trust: AuditTrust) {
  const { sharedAuditSnapshot } = await import('./audit-store.js');
  const { verifySharedAudit } = await import('../src/audit/verify-shared.js');
  const snap = await sharedAuditSnapshot(sel);
  if (snap.rows.length === 0 && !snap.head) throw new CliError('not-found', 'the shared audit chain has no entries yet (nothing has been recorded)');
  return verifySharedAudit(snap, trust);
}

/** The entries of --store's shared chain, else of --state's file log. */
async function readRecords(ctx: CliContext, opts: StoreFlags) {
  const sel = storeSelection(ctx, opts);
  if (sel.url !== undefined) return (await import('./audit-store.js')).sharedAuditRecords(sel);
  const { readAudit } = await import('../src/audit/log.js');
  return readAudit(await existingStateDir(ctx, opts.state));
}

export const registerAudit: RegisterGroup = (program: Command, ctx: CliContext) => {
  const audit = program.command('audit').description('the tamper-evident audit log: issuances, revocations, EAB and node changes, signing-key transitions');

  addStoreOptions(audit
    .command('verify')
    .description('check the hash chain, every signature, and the audit key\'s certificate up to the root (exit 1 if anything is wrong)')
    .option('--root <file>', 'root certificate (default: STATE/issuer/root.pem)')
    .option('--intermediate <file>', 'intermediate that certified the audit key (default: STATE/issuer/intermediate.pem; repeatable)', collect)
    .option('--anchor <seq:hash>', 'a head recorded earlier with `nixca audit head`: detects truncation of newer entries')
    .option('--allow-uncertified', 'accept a log whose key has no certificate yet (before the issuer was installed)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON'))
    .action(async (opts: StoreFlags & { root?: string; intermediate?: string[]; anchor?: string; allowUncertified?: boolean; json?: boolean }) => {
      const { verifyAudit, parseAnchor } = await import('../src/audit/verify.js');
      const sel = storeSelection(ctx, opts);
      // The shared chain needs --state only for the issuer's certificates (if that host has them).
      const state = sel.url !== undefined ? sel.state : await existingStateDir(ctx, opts.state);
      const anchor = opts.anchor ? parseAnchor(opts.anchor) : undefined;
      const trust = await auditTrust(state, opts);
      const v = sel.url !== undefined ? await verifyShared(sel, { ...trust, anchor, allowUncertified: opts.allowUncertified }) : await verifyAudit(state, { ...trust, anchor, allowUncertified: opts.allowUncertified, store: await (await import('../src/audit/verify.js')).auditedStoreSerials(state) });
      emit(ctx.io, opts, v, (r) => {
        const lines = [
          `${r.ok ? 'ok' : 'FAILED'}: ${r.entries} entries${r.head ? `, head ${r.head.seq}:${r.head.hash}` : ''}`,
          `signer: ${r.signer.certified ? '' : 'NOT certified: '}${r.signer.explanation}`,
        ];
        for (const p of r.problems) lines.push(`  ${p.seq === null ? 'signer' : `seq ${p.seq}`}: ${p.reason}`);
        return lines.join('\n');
      });
      if (!v.ok) {
        const first = v.problems.find((p) => p.seq === v.firstBadSeq) ?? v.problems[0];
        throw new CliError('check', v.firstBadSeq !== null ? `audit log is broken at seq ${v.firstBadSeq}: ${first?.reason}` : `audit log not verified: ${first?.reason}`);
      }
    });

  addStoreOptions(audit
    .command('show')
    .description('list audit entries (newest last)')
    .option('--node <node>', 'only entries about this node')
    .option('--since <time>', 'only entries at or after this time (ISO 8601, or 30m / 24h / 7d ago)')
    .option('--type <type>', 'only entries of this type or type prefix (certificate, node.added, …)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON'))
    .action(async (opts: StoreFlags & { node?: string; since?: string; type?: string; json?: boolean }) => {
      const since = opts.since ? parseSince(opts.since, ctx.io.now()) : undefined;
      const { records, damagedLines, tornBytes } = await readRecords(ctx, opts);
      const shown = records.filter(
        (r) =>
          (!opts.node || r.node === opts.node) &&
          (!since || new Date(r.time) >= since) &&
          (!opts.type || r.type === opts.type || r.type.startsWith(opts.type + '.')),
      );
      emit(ctx.io, opts, shown, (rs) => {
        const lines = rs.map((r) => `${r.seq}\t${r.time}\t${r.type}\t${r.subject}${r.node && r.node !== r.subject ? ` (node ${r.node})` : ''}\t${JSON.stringify(r.details)}`);
        if (damagedLines) lines.push(`(${damagedLines} damaged line(s) skipped: run nixca audit verify)`);
        if (tornBytes) lines.push(`(torn last line of ${tornBytes} bytes: an interrupted append)`);
        return lines.length ? lines.join('\n') : 'no matching entries';
      });
    });

  addStoreOptions(audit
    .command('head')
    .description('print the newest entry as SEQ:SHA256; record it elsewhere and pass it to `audit verify --anchor` later')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON'))
    .action(async (opts: StoreFlags & { json?: boolean }) => {
      const { records } = await readRecords(ctx, opts);
      const last = records.at(-1);
      if (!last) throw new CliError('not-found', 'the audit log has no entries');
      emit(ctx.io, opts, { seq: last.seq, hash: last.hash, time: last.time, anchor: `${last.seq}:${last.hash}` }, (h) => h.anchor);
    });

  addStoreOptions(audit
    .command('certify')
    .description('have the intermediate certify the audit signing key (issuer install does it too; needs the intermediate passphrase; idempotent); with --store, also give the certificate to the shared chain now')
    .option('--passphrase-file <file>', 'file holding the intermediate key passphrase')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON'))
    .action(async (opts: StoreFlags & { passphraseFile?: string; json?: boolean }) => {
      const { getPassphrase, ISSUER_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
      const { loadIssuer } = await import('../src/ceremony/issuer-dir.js');
      const { certifyAuditKey } = await import('../src/audit/certify.js');
      const sel = storeSelection(ctx, opts);
      const state = await existingStateDir(ctx, opts.state);
      const passphrase = await getPassphrase(ctx.io, { file: opts.passphraseFile, credential: ISSUER_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'intermediate key' });
      const issuer = await loadIssuer(state, passphrase, ctx.io.now());
      const r = await certifyAuditKey(state, issuer, { now: ctx.io.now() });
      // The shared chain's verifiers read this host's certificates from the database
      // (docs/postgres.md "The audit chain"): registered now, not at the next serve start.
      const shared = sel.url !== undefined ? await (await import('./audit-store.js')).registerSharedSigner(sel, state, issuer.certificate) : undefined;
      emit(ctx.io, opts, { issued: r.issued, serial: r.certificate.serialNumber, notAfter: r.certificate.notAfter.toISOString(), issuer: r.certificate.issuer, ...(shared ? { sharedChain: shared } : {}) }, (x) =>
        `${x.issued ? 'issued' : 'kept'} audit certificate ${x.serial} (until ${x.notAfter}, by ${x.issuer})${x.sharedChain ? `\nregistered with the shared chain of ${x.sharedChain}` : ''}`,
      );
    });
};
