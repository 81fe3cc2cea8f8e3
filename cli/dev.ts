// `nixca serve --dev`: the README's main job. On first run it creates, in ./nixca-state (or
// --state), a clearly labelled DEVELOPMENT PKI (root + intermediate, in-process), one example
// node with its EAB env file, and prints the next steps; later runs reuse that state.
// It never touches a production issuer: a state directory holding one is refused.
import { join } from 'node:path';
import type { CliContext } from './context.js';
import { caddyfileFor, privilegedPortNote } from './dev-caddy.js';
import { CliError } from './errors.js';
import { ensureDir, exists, readText, writeFileAtomic } from './files.js';
import type { LoadedIssuer } from '../src/ceremony/issuer-dir.js';
import { DEV_STATE_DIR, planServe, type ServeConfig } from '../src/config/serve.js';
export const DEV_MARKER = 'DEVELOPMENT-PKI.json';
export const DEV_ROOT_CN = 'nixca DEVELOPMENT root - not for production';
export const DEV_INTERMEDIATE_CN = 'nixca DEVELOPMENT intermediate - not for production';
export const DEV_PERMITTED_DNS = ['n3x.internal', 'localhost'];
export const DEV_NODE = 'nuc-1';
export const DEV_NODE_NAME = 'cache.nuc-1.n3x.internal';

/** Files of the development PKI outside the ceremony's issuer/ layout (see cli/issuer.ts). */
export const DEV_FILES = {
  passphrase: 'dev-intermediate.passphrase',
  eab: `${DEV_NODE}.eab.env`,
};

/**
 * Creates the development PKI once, then loads it like a production issuer (src/ceremony/issuer-dir.ts
 * loadIssuer). Steps are idempotent and the marker is written last, so a crash in the middle is
 * completed by the next run; a state directory holding a production issuer is refused.
 */
export async function prepareDev(ctx: CliContext, config: ServeConfig): Promise<LoadedIssuer> {
  const dir = config.state;
  // Refused before anything is created or printed: the development PKI permits only these names.
  const { checkBaseUrlHost } = await import('./serve-base-url.js');
  await checkBaseUrlHost(planServe(config).baseUrl.hostname.toLowerCase(), DEV_PERMITTED_DNS, "the development PKI's");
  const { ISSUER_DIR, loadIssuer } = await import('../src/ceremony/issuer-dir.js');
  await ensureDir(dir);
  const firstRun = !(await exists(join(dir, DEV_MARKER)));
  const passphraseFile = join(dir, DEV_FILES.passphrase);
  if (firstRun && (await exists(join(dir, ISSUER_DIR)))) {
    // Either a production issuer (refuse) or our own crashed first run (its passphrase opens it).
    const resumable = (await exists(passphraseFile)) && (await isDevIssuer(dir, (await readText(passphraseFile, 'development passphrase')).trim()));
    if (!resumable) throw new CliError('conflict', `${dir} holds an issuer that is not a nixca development PKI; --dev only uses a development state directory (default ./${DEV_STATE_DIR})`);
  } else if (firstRun) {
    await createDevIssuer(ctx, dir);
  }
  const passphrase = (await readText(passphraseFile, 'development passphrase')).trim();
  const issuer = await loadIssuer(dir, passphrase, ctx.io.now());
  if (!issuer.root.subject.includes(DEV_ROOT_CN)) throw new CliError('conflict', `${dir} holds an issuer that is not a nixca development PKI; --dev only uses a development state directory (default ./${DEV_STATE_DIR})`);
  if (firstRun) await createDevNode(ctx, dir, issuer);
  printNextSteps(ctx, config, firstRun, issuer.rootPath);
  return issuer;
}

async function isDevIssuer(dir: string, passphrase: string): Promise<boolean> {
  const { loadIssuer } = await import('../src/ceremony/issuer-dir.js');
  try {
    return (await loadIssuer(dir, passphrase)).root.subject.includes(DEV_ROOT_CN);
  } catch {
    return false;
  }
}

/** Root + intermediate in-process, written in the ceremony's layout (STATE/issuer/…) via a temp dir + rename. */
async function createDevIssuer(ctx: CliContext, dir: string): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const { mkdtemp, rename, rm } = await import('node:fs/promises');
  const { createRoot } = await import('../src/ca/root.js');
  const { createIntermediateRequest, signIntermediate } = await import('../src/ca/intermediate.js');
  const { encryptPrivateKey } = await import('../src/ca/keys.js');
  const { ISSUER_DIR, ISSUER_FILES } = await import('../src/ceremony/issuer-dir.js');
  const now = ctx.io.now();
  // The root key lives only in this process: a development root signs one intermediate and is gone.
  const root = await createRoot({ commonName: DEV_ROOT_CN, permittedDns: DEV_PERMITTED_DNS, validityDays: 3650, now });
  const req = await createIntermediateRequest({ commonName: DEV_INTERMEDIATE_CN, keyAlgorithm: 'ECDSA-P256' });
  const inter = await signIntermediate({ certificate: root.certificate, privateKey: root.keys.privateKey }, req.csr, { validityDays: 365, now });
  // The intermediate key is encrypted at rest like a production one; the passphrase sits next to
  // it (0600) because this PKI is for development only.
  const passphrase = randomBytes(24).toString('base64url');
  await writeFileAtomic(join(dir, DEV_FILES.passphrase), passphrase + '\n', 0o600);
  const tmp = await mkdtemp(join(dir, '.dev-issuer-'));
  try {
    await writeFileAtomic(join(tmp, ISSUER_FILES.key), await encryptPrivateKey(req.keys.privateKey, passphrase), 0o600);
    await writeFileAtomic(join(tmp, ISSUER_FILES.cert), inter.toString('pem') + '\n', 0o644);
    await writeFileAtomic(join(tmp, ISSUER_FILES.root), root.certificate.toString('pem') + '\n', 0o644);
    await rename(tmp, join(dir, ISSUER_DIR));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The example node, its EAB env file, and (last) the marker. */
async function createDevNode(ctx: CliContext, dir: string, issuer: LoadedIssuer): Promise<void> {
  const { openInventoryStore } = await import('../src/store/inventory.js');
  const { addNode, ensureEab } = await import('../src/inventory/inventory.js');
  const { x509 } = await import('../src/ca/x509.js');
  const now = ctx.io.now();
  const inv = await openInventoryStore(dir);
  const eab = await inv.update((d) => {
    if (!d.nodes.some((n) => n.name === DEV_NODE)) addNode(d, { name: DEV_NODE, dnsNames: [DEV_NODE_NAME], site: 'dev' }, now);
    return ensureEab(d, DEV_NODE, now, false).node.eab!;
  });
  const { eabEnvFile } = await import('./node.js');
  await writeFileAtomic(join(dir, DEV_FILES.eab), eabEnvFile(eab), 0o600);
  const root = new x509.X509Certificate(await readText(issuer.rootPath, 'root certificate'));
  await writeFileAtomic(join(dir, DEV_MARKER), JSON.stringify({
    warning: 'DEVELOPMENT PKI: the intermediate passphrase is stored next to the key. Never trust this root outside a lab.',
    createdAt: now.toISOString(),
    root: issuer.rootPath,
    rootSha256: Buffer.from(await root.getThumbprint('SHA-256')).toString('hex'),
    permittedDns: DEV_PERMITTED_DNS,
    exampleNode: { name: DEV_NODE, dnsNames: [DEV_NODE_NAME], eabEnvFile: DEV_FILES.eab },
  }, null, 2) + '\n', 0o644);
}

function printNextSteps(ctx: CliContext, opts: ServeConfig, firstRun: boolean, rootPath: string): void {
  const dir = opts.state;
  // The same base URL the server will use (links, JWS url check), not a second derivation of it.
  const plan = planServe(opts);
  const base = plan.baseUrl.href;
  const directory = plan.directoryUrl;
  const eabPath = join(dir, DEV_FILES.eab);
  const note = privilegedPortNote({ httpPort: opts.http01Port, httpsPort: opts.tlsAlpn01Port });
  ctx.io.out([
    '',
    firstRun ? `nixca: created a DEVELOPMENT PKI in ${dir} (not for production)` : `nixca: reusing the DEVELOPMENT PKI in ${dir}`,
    '',
    `  ACME directory:    ${directory}`,
    `  root certificate:  ${rootPath}`,
    `  example node:      ${DEV_NODE} (${DEV_NODE_NAME})`,
    `  EAB env file:      ${eabPath}`,
    `  validation:        ${(opts.resolve ?? []).map((r) => r.replace('=', ' -> ')).join(', ') || 'system DNS'}; http-01 port ${opts.http01Port}, tls-alpn-01 port ${opts.tlsAlpn01Port}`,
    '',
    'Next steps:',
    `  curl --cacert ${rootPath} ${directory}`,
    `  curl --cacert ${rootPath} ${base}health    # also ${base}metrics (Prometheus), ${base}crl (DER)`,
    `  nixca node add NODE --dns NAME.n3x.internal --state ${dir}    # more nodes`,
    `  nixca node eab NODE --out NODE.eab.env --state ${dir}`,
    '',
    `Caddyfile for ${DEV_NODE}: Caddy on the ports this issuer validates (http-01 ${opts.http01Port}, tls-alpn-01 ${opts.tlsAlpn01Port});`,
    `run it with the EAB env file as its environment (set -a; . ${eabPath}; caddy run --config Caddyfile):`,
    ...(note ? [`  (${note})`] : []),
    '',
    caddyfileFor({ directory, rootPath, httpPort: opts.http01Port, httpsPort: opts.tlsAlpn01Port }, DEV_NODE_NAME).replace(/\n$/, ''),
    '',
  ].join('\n'));
}
