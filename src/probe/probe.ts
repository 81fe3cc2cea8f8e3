// `nixca status --probe`: what a node actually serves, seen as a client that trusts only the root.
// Two halves: `probeNode` does the network (TLS handshake, GET /nix-cache-info, GET one narinfo);
// `evaluateProbe` (pure) compares that with what the issuer recorded and what the inventory
// publishes, and turns every mismatch into a problem.
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { request } from 'node:https';
import { normalizeSerial } from '../ca/serial.js';
import type { InventoryData, SigningKeyState } from '../inventory/model.js';
import { isPublished } from '../inventory/signing-keys.js';
import { parsePublicKey, type PublicKey } from '../signing/keys.js';
import { parseNarInfo, verifyNarInfo } from '../signing/narinfo.js';
import { NIX32_ALPHABET } from '../signing/nix32.js';
import type { IssuedCertificate, RevokedCertificate, StatusProblem } from '../status/status.js';

export interface ProbeTarget {
  node: string;
  /** The DNS name checked in the certificate and sent as SNI and Host. */
  host: string;
  /** Where to connect (an IP or a name); `host` when not overridden. */
  address: string;
  port: number;
}

export interface ProbeOptions {
  /** PEM of the fleet root: the only trust anchor. */
  rootPem: string;
  /** Store path hashes (32 nix32 chars) to try for the narinfo check, in order. */
  probePaths: readonly string[];
  timeoutMs?: number;
  now?: Date;
}

export interface ServedCertificate {
  serial: string;
  notBefore: string;
  notAfter: string;
  names: string[];
  /** The chain verifies to the root and the certificate names `host` (node's TLS verdict). */
  chainValid: boolean;
  /** OpenSSL's reason when it does not (CERT_HAS_EXPIRED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, …). */
  chainError: string | null;
}

export interface RawProbe {
  target: ProbeTarget;
  /** null when the TLS handshake itself failed. */
  certificate: ServedCertificate | null;
  connectError: string | null;
  cacheInfo: { status: number; body: string } | { error: string } | null;
  narinfo: { hash: string; status: number; body: string } | { error: string } | null;
}

const PROBE_PATH = new RegExp(`^(?:/[^/]+(?:/[^/]+)*/)?([${NIX32_ALPHABET}]{32})(?:-.*)?$`);

/** Accepts a bare hash or a /nix/store/HASH-name path; returns the hash part. */
export function probePathHash(text: string): string | null {
  return PROBE_PATH.exec(text.trim())?.[1] ?? null;
}

function peerToServed(peer: PeerCertificate, socket: TLSSocket, host: string): ServedCertificate {
  const names = (peer.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  let chainError = socket.authorized ? null : String(socket.authorizationError ?? 'not authorized');
  if (!chainError) {
    const idErr = checkServerIdentity(host, peer);
    if (idErr) chainError = `ERR_TLS_CERT_ALTNAME_INVALID: ${idErr.message}`;
  }
  return {
    serial: normalizeSerial(peer.serialNumber ?? ''),
    notBefore: new Date(peer.valid_from).toISOString(),
    notAfter: new Date(peer.valid_to).toISOString(),
    names,
    chainValid: chainError === null,
    chainError,
  };
}

function handshake(t: ProbeTarget, rootPem: string, timeoutMs: number): Promise<ServedCertificate> {
  return new Promise((resolve, reject) => {
    // rejectUnauthorized:false so that an untrusted or expired certificate can still be described;
    // the verdict is taken from socket.authorized (chain to `rootPem` only, not the system store).
    const socket = connect({ host: t.address, port: t.port, servername: t.host, ca: [rootPem], rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      try {
        resolve(peerToServed(socket.getPeerCertificate(false), socket, t.host));
      } catch (err) {
        reject(err);
      } finally {
        socket.end();
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function get(t: ProbeTarget, path: string, rootPem: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: t.address, port: t.port, path, method: 'GET', servername: t.host, headers: { host: t.port === 443 ? t.host : `${t.host}:${t.port}` }, ca: [rootPem], rejectUnauthorized: true, timeout: timeoutMs, agent: false },
      (res) => {
        let body = '';
        let size = 0;
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          size += d.length;
          // A narinfo is a few hundred bytes; refuse to buffer a misconfigured node's large reply.
          if (size > 1 << 20) req.destroy(new Error(`${path}: reply larger than 1 MiB`));
          else body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no reply within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const message = (err: unknown) => (err instanceof Error ? `${(err as NodeJS.ErrnoException).code ? (err as NodeJS.ErrnoException).code + ': ' : ''}${err.message}` : String(err));

/** Talks to one node. Never throws for network trouble: it is reported in the result. */
export async function probeNode(t: ProbeTarget, opts: ProbeOptions): Promise<RawProbe> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  let certificate: ServedCertificate;
  try {
    certificate = await handshake(t, opts.rootPem, timeoutMs);
  } catch (err) {
    return { target: t, certificate: null, connectError: message(err), cacheInfo: null, narinfo: null };
  }
  // Over a connection we would not trust, what the node says about its cache means nothing.
  if (!certificate.chainValid) return { target: t, certificate, connectError: null, cacheInfo: null, narinfo: null };
  let cacheInfo: RawProbe['cacheInfo'];
  try {
    cacheInfo = await get(t, '/nix-cache-info', opts.rootPem, timeoutMs);
  } catch (err) {
    cacheInfo = { error: message(err) };
  }
  let narinfo: RawProbe['narinfo'] = null;
  for (const hash of opts.probePaths) {
    try {
      const r = await get(t, `/${hash}.narinfo`, opts.rootPem, timeoutMs);
      narinfo = { hash, ...r };
      if (r.status === 200) break;
    } catch (err) {
      narinfo = { error: message(err) };
      break;
    }
  }
  return { target: t, certificate, connectError: null, cacheInfo, narinfo };
}

export type SignatureFinding = 'valid' | 'unpublished-key' | 'retired-key' | 'revoked-key' | 'bad-signature' | 'malformed';

export interface ProbeReport {
  node: string;
  host: string;
  address: string;
  port: number;
  served: (ServedCertificate & { match: 'current' | 'older' | 'other-node' | 'unknown'; expired: boolean; revoked: boolean }) | null;
  cacheInfo: { ok: boolean; storeDir: string | null; priority: number | null; detail: string } | null;
  narinfo: { storePath: string | null; hash: string | null; signatures: { keyName: string | null; finding: SignatureFinding }[]; detail: string } | null;
  problems: StatusProblem[];
}

/** The keys clients trust (published states) and, by name, every key the inventory ever had. */
function keyIndex(inv: InventoryData): { trusted: PublicKey[]; stateByName: Map<string, SigningKeyState> } {
  const trusted: PublicKey[] = [];
  const stateByName = new Map<string, SigningKeyState>();
  for (const k of inv.signingKeys) {
    stateByName.set(k.name, k.state);
    if (isPublished(k)) {
      try {
        trusted.push(parsePublicKey(k.publicKey));
      } catch {
        // A damaged inventory key cannot verify anything; its signatures show up as unpublished.
      }
    }
  }
  return { trusted, stateByName };
}

export function evaluateProbe(
  raw: RawProbe,
  ctx: { inventory: InventoryData; certificates: readonly IssuedCertificate[]; revocations: readonly RevokedCertificate[]; now: Date; probePaths: readonly string[] },
): ProbeReport {
  const { target } = raw;
  const problems: StatusProblem[] = [];
  const err = (code: string, msg: string) => problems.push({ severity: 'error', code, message: msg });
  const warn = (code: string, msg: string) => problems.push({ severity: 'warning', code, message: msg });
  let served: ProbeReport['served'] = null;
  if (raw.connectError) err('unreachable', `${target.host} (${target.address}:${target.port}): ${raw.connectError}`);
  if (raw.certificate) {
    const c = raw.certificate;
    const issued = ctx.certificates.find((x) => x.serial === c.serial);
    const mine = ctx.certificates.filter((x) => x.node === target.node).sort((a, b) => a.issuedAt.localeCompare(b.issuedAt));
    const match = !issued ? 'unknown' : issued.node !== target.node ? 'other-node' : mine.at(-1)?.serial === c.serial ? 'current' : 'older';
    const expired = new Date(c.notAfter) <= ctx.now;
    const revoked = ctx.revocations.some((r) => r.serial === c.serial);
    served = { ...c, match, expired, revoked };
    if (expired) err('served-expired', `serves certificate ${c.serial}, expired ${c.notAfter}`);
    if (!c.chainValid && !expired) err('served-untrusted', `serves a certificate that does not verify to the root for ${target.host}: ${c.chainError}`);
    if (match === 'unknown') err('served-unknown', `serves certificate ${c.serial}, which this issuer never issued`);
    if (match === 'other-node') err('served-other-node', `serves certificate ${c.serial}, issued to node ${issued!.node}`);
    if (revoked) err('served-revoked', `serves certificate ${c.serial}, which is revoked`);
    if (match === 'older' && !revoked && !expired) warn('served-older', `serves an older certificate ${c.serial}; the newest is ${mine.at(-1)!.serial} (reload Caddy?)`);
  }
  let cacheInfo: ProbeReport['cacheInfo'] = null;
  if (raw.cacheInfo) {
    if ('error' in raw.cacheInfo) {
      cacheInfo = { ok: false, storeDir: null, priority: null, detail: raw.cacheInfo.error };
      err('cache-info', `GET /nix-cache-info: ${raw.cacheInfo.error}`);
    } else {
      const fields = new Map(raw.cacheInfo.body.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const));
      const storeDir = fields.get('StoreDir') ?? null;
      const priority = fields.has('Priority') ? Number(fields.get('Priority')) : null;
      const ok = raw.cacheInfo.status === 200 && storeDir !== null;
      cacheInfo = { ok, storeDir, priority, detail: ok ? 'ok' : `HTTP ${raw.cacheInfo.status}${storeDir ? '' : ', no StoreDir line'}` };
      if (!ok) err('cache-info', `GET /nix-cache-info: ${cacheInfo.detail}`);
    }
  }
  let narinfo: ProbeReport['narinfo'] = null;
  if (raw.certificate?.chainValid && !raw.connectError) {
    if (ctx.probePaths.length === 0) {
      narinfo = { storePath: null, hash: null, signatures: [], detail: 'skipped: no --probe-path given' };
    } else if (!raw.narinfo) {
      narinfo = { storePath: null, hash: null, signatures: [], detail: 'not fetched' };
    } else if ('error' in raw.narinfo) {
      narinfo = { storePath: null, hash: null, signatures: [], detail: raw.narinfo.error };
      err('narinfo', `GET narinfo: ${raw.narinfo.error}`);
    } else if (raw.narinfo.status !== 200) {
      narinfo = { storePath: null, hash: raw.narinfo.hash, signatures: [], detail: `HTTP ${raw.narinfo.status} for every --probe-path` };
      warn('narinfo-missing', `none of the probe paths is in this cache (last: HTTP ${raw.narinfo.status})`);
    } else {
      const { trusted, stateByName } = keyIndex(ctx.inventory);
      try {
        const info = parseNarInfo(raw.narinfo.body, { what: `${raw.narinfo.hash}.narinfo from ${target.host}` });
        const v = verifyNarInfo(info, trusted);
        const signatures = v.signatures.map((s) => {
          let finding: SignatureFinding;
          if (s.verdict === 'valid') finding = 'valid';
          else if (s.verdict === 'bad-signature') finding = 'bad-signature';
          else if (s.verdict === 'malformed') finding = 'malformed';
          else {
            const st = s.keyName ? stateByName.get(s.keyName) : undefined;
            finding = st === 'revoked' ? 'revoked-key' : st === 'retired' ? 'retired-key' : 'unpublished-key';
          }
          return { keyName: s.keyName, finding };
        });
        narinfo = { storePath: info.storePath, hash: raw.narinfo.hash, signatures, detail: `${v.validCount} valid signature(s) from published keys` };
        for (const s of signatures) {
          if (s.finding === 'unpublished-key') err('signs-unpublished', `signs with key ${s.keyName}, which is not published to clients`);
          if (s.finding === 'revoked-key') err('signs-revoked', `signs with key ${s.keyName}, which is revoked`);
          if (s.finding === 'bad-signature') err('bad-signature', `a signature by ${s.keyName} does not verify`);
          if (s.finding === 'retired-key') warn('signs-retired', `still signs with retired key ${s.keyName} (clients no longer trust it)`);
          if (s.finding === 'malformed') warn('sig-malformed', 'a Sig: line is malformed');
        }
        if (v.validCount === 0) err('no-valid-signature', `${info.storePath}: no signature from a published key; clients with require-sigs reject it`);
      } catch (e) {
        narinfo = { storePath: null, hash: raw.narinfo.hash, signatures: [], detail: message(e) };
        err('narinfo-invalid', `narinfo is not valid: ${message(e)}`);
      }
    }
  }
  return { node: target.node, host: target.host, address: target.address, port: target.port, served, cacheInfo, narinfo, problems };
}

export interface FleetProbeOptions extends ProbeOptions {
  /** HTTPS port of the nodes (443). */
  port: number;
  /** Where to connect for a name instead of resolving it (`--resolve`). */
  resolve?: ReadonlyMap<string, { address: string; port?: number }>;
}

/**
 * Probes every node at its first exact DNS name (a node with only suffixes has no name to ask
 * for) and evaluates what it serves: what `nixca status --probe` and the dashboard both run.
 */
export async function probeFleet(
  ctx: { inventory: InventoryData; certificates: readonly IssuedCertificate[]; revocations: readonly RevokedCertificate[]; now: Date },
  opts: FleetProbeOptions,
): Promise<ProbeReport[]> {
  return Promise.all(
    ctx.inventory.nodes.map(async (n): Promise<ProbeReport> => {
      const host = n.dnsNames[0];
      if (!host) {
        return { node: n.name, host: '', address: '', port: opts.port, served: null, cacheInfo: null, narinfo: null, problems: [{ severity: 'warning', code: 'not-probed', message: 'the node owns only DNS suffixes: no exact name to probe' }] };
      }
      const r = opts.resolve?.get(host);
      const raw = await probeNode({ node: n.name, host, address: r?.address ?? host, port: r?.port ?? opts.port }, { ...opts, now: ctx.now });
      return evaluateProbe(raw, { ...ctx, probePaths: opts.probePaths });
    }),
  );
}
