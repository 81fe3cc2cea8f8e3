// `nixca status [--probe]`: the fleet as the issuer sees it (inventory + ACME store), and with
// --probe as clients see it (each node's TLS certificate, /nix-cache-info, one signed narinfo).
// Any error-level problem makes the command exit 1 (kind 'check') after printing the report.
import type { Command } from 'commander';
import { collect, STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { parseDuration } from '../src/config/duration.js';
import { emit } from './io.js';
import { addStoreOptions, readSelectedInventory, storeSelection, type StoreFlags } from './store-option.js';
import type { StoreSelection } from '../src/store/open.js';
import type { FleetStatus, IssuedCertificate, RevokedCertificate } from '../src/status/status.js';
import type { AriPollData } from '../src/status/ari-polls.js';
import type { ProbeReport } from '../src/probe/probe.js';
import type * as NamesModule from '../src/inventory/names.js';

/**
 * `--resolve NAME=ADDR` or `NAME=ADDR:PORT` (IPv6 in brackets: `NAME=[::1]:8443`). NAME is a DNS
 * name as the inventory keeps them (src/inventory/names.ts): any other text could never match a node.
 */
export function parseResolve(text: string, names: Pick<typeof NamesModule, 'isValidDnsName' | 'normalizeDnsName'>): { name: string; address: string; port?: number } {
  const m = /^([^=\s]+)=(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  const name = m ? names.normalizeDnsName(m[1]!) : '';
  if (!m || !names.isValidDnsName(name)) throw new CliError('usage', `--resolve must be NAME=ADDRESS or NAME=ADDRESS:PORT with NAME a DNS name, got ${JSON.stringify(text)}`);
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new CliError('usage', `--resolve ${text}: port out of range`);
  return { name, address: m[2]!.replace(/^\[|\]$/g, ''), port };
}

/** What the store issued and revoked, and the ARI fetch record, from one opening of the store. */
async function readIssued(sel: StoreSelection): Promise<{ certificates: IssuedCertificate[]; revocations: RevokedCertificate[]; ariPolls: AriPollData }> {
  const { join } = await import('node:path');
  const { exists } = await import('./files.js');
  const { ACME_DIR } = await import('../src/store/acme.js');
  const { openSelectedStore, readSelectedAriPolls } = await import('../src/store/open.js');
  // No embedded ACME store yet (nothing issued): do not create one just to look.
  if (sel.url === undefined && !(await exists(join(sel.state, ACME_DIR)))) return { certificates: [], revocations: [], ariPolls: await readSelectedAriPolls(sel) };
  // Read-only: never takes the writer lock, never repairs or compacts, so it is safe next to a
  // running `nixca serve` (docs/operations.md "Running next to nixca serve").
  const opened = await openSelectedStore(sel, { readOnly: true, listen: false });
  const store = opened.acme;
  try {
    const certificates = (await store.listCertificates()).map((c) => ({ serial: c.serial, node: c.node, names: c.names, notBefore: c.notBefore, notAfter: c.notAfter, issuedAt: c.issuedAt }));
    const revocations = (await store.listRevocations()).map((r) => ({ serial: r.serial, reason: r.reason, revokedAt: r.revokedAt }));
    return { certificates, revocations, ariPolls: await opened.readAriPolls() };
  } finally {
    await store.close();
  }
}

function fmtDays(d: number): string {
  return d < 0 ? `expired ${-d} days ago` : `${d} days left`;
}

function render(r: FleetStatus & { probe: ProbeReport[] | null; ok: boolean }): string {
  const out: string[] = [];
  for (const n of r.nodes) {
    out.push(`${n.name}\t${[...n.dnsNames, ...n.dnsSuffixes.map((s) => '*.' + s)].join(' ')}`);
    const c = n.certificate;
    if (c) {
      out.push(`  certificate ${c.serial}  until ${c.notAfter} (${fmtDays(c.daysLeft)})${c.revoked ? `  REVOKED ${c.revoked.revokedAt}` : ''}`);
      out.push(`  renewal window ${c.renewalWindow.start} – ${c.renewalWindow.end} (${c.renewalWindow.reason})`);
    } else out.push('  certificate -');
    out.push(`  ARI: ${n.ari.ari === 'polling' ? `polls renewalInfo (last ${n.ari.lastPolledAt}${n.ari.userAgent ? `, ${n.ari.userAgent}` : ''})` : n.ari.ari === 'never' ? 'never fetched renewalInfo (renew-now cannot reach this client)' : '-'}`);
    out.push(`  signing keys: ${n.signingKeys.map((k) => `${k.name} ${k.state}${k.shared ? ' (shared)' : ''}`).join(', ') || '-'}`);
    const p = r.probe?.find((x) => x.node === n.name);
    if (p) {
      const s = p.served;
      out.push(
        `  probe ${p.host} @ ${p.address}:${p.port}: ` +
          (s ? `serves ${s.serial} (${s.match}, chain ${s.chainValid ? 'ok' : 'INVALID'}, until ${s.notAfter})` : 'no TLS') +
          (p.cacheInfo ? `; nix-cache-info ${p.cacheInfo.detail}` : '') +
          (p.narinfo ? `; narinfo ${p.narinfo.detail}` : ''),
      );
    }
    for (const pr of [...n.problems, ...(p?.problems ?? [])]) out.push(`  ${pr.severity === 'error' ? 'ERROR' : 'warning'}: ${pr.message}`);
  }
  if (r.nodes.length === 0) out.push('no nodes (add one with: nixca node add NODE --dns NAME)');
  for (const o of r.orphanCertificates) out.push(`valid certificate ${o.serial} of ${o.node ?? 'no node'} (${o.names.join(' ')}) belongs to no inventory node: revoke it? (nixca cert revoke ${o.serial} --reason cessationOfOperation)`);
  out.push(r.ok ? 'ok' : 'PROBLEMS found');
  return out.join('\n');
}

export const registerStatus: RegisterGroup = (program: Command, ctx: CliContext) => {
  addStoreOptions(program
    .command('status'))
    .description("the fleet: each node's names, newest certificate, ARI renewal window and signing keys; --probe also checks what each node really serves")
    .option('--probe', "connect to each node's HTTPS (trusting only the root) and check its certificate, /nix-cache-info and one narinfo's signatures")
    .option('--port <port>', 'HTTPS port of the nodes', (v) => {
      if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new CliError('usage', `--port must be 1-65535, got ${JSON.stringify(v)}`);
      return Number(v);
    }, 443)
    .option('--resolve <name=addr[:port]>', 'connect to ADDR (and PORT) for NAME instead of resolving it (repeatable)', collect)
    .option('--root <file>', 'the root to trust (default: STATE/issuer/root.pem)')
    .option('--probe-path <hash|storepath>', 'a store path expected in every cache, for the narinfo check (repeatable; first one found is used)', collect)
    .option('--timeout <duration>', 'per-connection timeout (at least 100ms; default 5s)', (v) => {
      const ms = parseDuration('--timeout', v);
      if (ms < 100) throw new CliError('usage', `--timeout must be at least 100ms, got ${JSON.stringify(v)}`);
      return ms;
    }, 5000)
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: StoreFlags & { probe?: boolean; port: number; resolve?: string[]; root?: string; probePath?: string[]; timeout: number; json?: boolean }) => {
      const { fleetStatus } = await import('../src/status/status.js');
      const { join } = await import('node:path');
      const sel = storeSelection(ctx, opts);
      const state = sel.state;
      if (sel.url === undefined) await (await import('./state-dir.js')).requireStateDir(state);
      const inventory = await readSelectedInventory(ctx, opts);
      const issued = await readIssued(sel);
      const now = ctx.io.now();
      const fleet = fleetStatus({ inventory, ...issued, now });
      let probe: ProbeReport[] | null = null;
      if (opts.probe) {
        const { probeFleet, probePathHash } = await import('../src/probe/probe.js');
        const { readText } = await import('./files.js');
        const { ISSUER_DIR, ISSUER_FILES } = await import('../src/ceremony/issuer-dir.js');
        const rootPem = await readText(opts.root ?? join(state, ISSUER_DIR, ISSUER_FILES.root), 'root certificate');
        const probePaths = (opts.probePath ?? []).map((p) => {
          const h = probePathHash(p);
          if (!h) throw new CliError('usage', `--probe-path must be a store path or its 32-character hash, got ${JSON.stringify(p)}`);
          return h;
        });
        const names = await import('../src/inventory/names.js');
        const resolve = new Map((opts.resolve ?? []).map((r) => {
          const x = parseResolve(r, names);
          return [x.name, x] as const;
        }));
        probe = await probeFleet({ inventory, ...issued, now }, { rootPem, probePaths, timeoutMs: opts.timeout, port: opts.port, resolve });
      }
      const ok = fleet.ok && (probe ?? []).every((p) => p.problems.every((x) => x.severity !== 'error'));
      const report = { ...fleet, ok, probe };
      emit(ctx.io, opts, report, render);
      if (!ok) {
        const bad = [...fleet.nodes.map((n) => ({ node: n.name, problems: n.problems })), ...(probe ?? []).map((p) => ({ node: p.node, problems: p.problems }))]
          .filter((x) => x.problems.some((p) => p.severity === 'error'));
        const first = bad[0]!;
        const names = [...new Set(bad.map((b) => b.node))];
        throw new CliError('check', `${names.length} node(s) with problems (${names.join(', ')}); first: ${first.node}: ${first.problems.find((p) => p.severity === 'error')!.message}`);
      }
    });
};
