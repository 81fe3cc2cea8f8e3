// `nixca db import --from-state DIR --store URL`: moves an embedded store into an empty, migrated
// PostgreSQL database (docs/postgres.md "Moving an embedded store").
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';
import { addStoreOptions, type StoreFlags } from './store-option.js';
import { shellQuotedStoreUrl } from '../src/store/pg/url.js';

interface ImportFlags extends StoreFlags {
  fromState: string;
  audit: boolean;
  sample: number;
  json?: boolean;
}

function sampleFlag(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new CliError('usage', `--sample must be a whole number from 1 to 100000, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The state directory's audit log, verified against its issuer (certified key, chain, recorded
 * head, an entry for every record being moved); none when the directory never had one.
 */
async function auditOf(state: string, snap: { certificates: readonly { serial: string }[]; revocations: readonly { serial: string }[] }) {
  const { join } = await import('node:path');
  const { exists, readText } = await import('./files.js');
  const { auditPaths } = await import('../src/audit/log.js');
  if (!(await exists(auditPaths(state).log))) return undefined;
  const { ISSUER_DIR, ISSUER_FILES } = await import('../src/ceremony/issuer-dir.js');
  const { readCert } = await import('../src/ceremony/certificate-file.js');
  const { readAuditSnapshot } = await import('../src/audit/snapshot.js');
  const interPath = join(state, ISSUER_DIR, ISSUER_FILES.cert);
  const rootPath = join(state, ISSUER_DIR, ISSUER_FILES.root);
  const hasInter = await exists(interPath);
  return readAuditSnapshot(state, {
    intermediates: hasInter ? [await readCert(interPath, 'intermediate certificate')] : [],
    ...((await exists(rootPath)) ? { root: await readCert(rootPath, 'root certificate') } : {}),
    ...(hasInter ? { intermediatePem: await readText(interPath, 'intermediate certificate') } : {}),
    store: { certificates: snap.certificates.map((c) => c.serial), revocations: snap.revocations.map((r) => r.serial) },
  });
}

export function registerDbImport(db: Command, ctx: CliContext): void {
  addStoreOptions(
    db.command('import').description('move an embedded store (ACME ledger, working set, CRL number, inventory, audit log) into an empty shared store, in one transaction, verified before it commits'),
  )
    .requiredOption('--from-state <dir>', 'the state directory whose embedded store is moved (no nixca serve may be running on it)')
    .option('--sample <n>', 'certificate chains compared byte for byte after the copy (spread over the ledger)', sampleFlag, 32)
    .option('--no-audit', 'leave the audit log out (it stays in --from-state); default: moved, verified first')
    .option('--json', 'print JSON')
    .action(async (opts: ImportFlags) => {
      const { resolve } = await import('node:path');
      const { withPool } = await import('./db-pool.js');
      const { openEmbeddedSnapshot, SnapshotError } = await import('../src/store/embedded-snapshot.js');
      const { checkSchema } = await import('../src/store/pg/migrate.js');
      const { importSnapshot, ImportError } = await import('../src/store/pg/import.js');
      const from = resolve(ctx.io.cwd, opts.fromState);
      const summary = await withPool(ctx, opts, async (pool, display) => {
        await checkSchema(pool, display);
        const snap = await openEmbeddedSnapshot(from).catch((err: Error) => {
          throw err instanceof SnapshotError ? new CliError(err.kind, err.message) : err;
        });
        try {
          const audit = opts.audit === false ? undefined : await auditOf(from, snap);
          // The ARI fetch record goes along (informational, in the same transaction, not verified).
          const { readAriPolls } = await import('../src/store/ari-polls.js');
          const { mergeSharedAriPolls } = await import('../src/store/pg/ari-polls.js');
          const polls = await readAriPolls(from);
          const r = await importSnapshot(pool, snap, { sample: opts.sample, ...(audit ? { audit } : {}), inTransaction: (c) => mergeSharedAriPolls(c, polls, ctx.io.now()) }).catch((err: Error) => {
            throw err instanceof ImportError ? new CliError(err.kind, err.message) : err;
          });
          return { from, store: display, ...r, ariPolls: { certificates: Object.keys(polls.certificates).length, nodes: Object.keys(polls.nodes).length } };
        } finally {
          await snap.close();
        }
      });
      emit(ctx.io, opts, summary, (s) => {
        const c = s.counts;
        return [
          `imported ${s.from} into ${s.store} (one transaction)`,
          `  accounts ${c.accounts}, orders ${c.orders}, authorizations ${c.authorizations}, certificates ${c.certificates}, revocations ${c.revocations}, CRL number ${s.crlNumber}`,
          s.inventory ? `  inventory: ${s.inventory.nodes} node(s), ${s.inventory.eabCredentials} EAB credential(s), ${s.inventory.signingKeys} signing key(s)` : '  inventory: none in the state directory',
          s.audit ? `  audit log: ${s.audit.entries} entries, head ${s.audit.head.seq}:${s.audit.head.hash}` : '  audit log: not moved',
          `verified before commit: counts per kind equal; ${s.verified.chainsCompared} of ${s.verified.chainsTotal} chain(s) byte-identical; CRL number${s.verified.inventory ? '; inventory identical' : ''}${s.verified.auditHead ? '; every audit line and the audit head identical' : ''}`,
          `  ARI fetch record: ${s.ariPolls.certificates} certificate(s), ${s.ariPolls.nodes} node(s) (informational)`,
          `next: serve with --store ${shellQuotedStoreUrl(s.store)}; the embedded store in ${s.from} is left as it was (keep it as a backup, never serve both)`,
        ].join('\n');
      });
    });
}
