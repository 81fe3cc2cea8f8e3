// `nixca serve --dev`: the README's main job. On first run it creates, in ./nixca-state (or
// --state), a clearly labelled DEVELOPMENT PKI (root + intermediate, in-process), one example
// node with its EAB env file, and prints the next steps; later runs reuse that state.
// Also: loading the issuer material for a production `serve` (the ceremony's `issuer install`).
import { join, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { ensureDir, exists, readText, writeFileAtomic } from './files.js';
import type { LoadedIssuer } from './serve-run.js';
import type { ServeOptions } from './serve.js';

export const DEV_STATE_DIR = 'nixca-state';
export const DEV_MARKER = 'DEVELOPMENT-PKI.json';
export const DEV_ROOT_CN = 'nixca DEVELOPMENT root - not for production';
export const DEV_INTERMEDIATE_CN = 'nixca DEVELOPMENT intermediate - not for production';
export const DEV_PERMITTED_DNS = ['n3x.internal', 'localhost'];
export const DEV_NODE = 'nuc-1';
export const DEV_NODE_NAME = 'cache.nuc-1.n3x.internal';

/** File names inside the state directory (the intermediate's layout is shared with `issuer install`). */
export const FILES = {
  root: 'root.pem',
  intermediate: 'intermediate.pem',
  intermediateKey: 'intermediate.key',
  devPassphrase: 'dev-intermediate.passphrase',
  devEab: `${DEV_NODE}.eab.env`,
};

interface ExternalLoader {
  loadIssuer?: (stateDir: string, passphrase: string) => Promise<unknown>;
}

/** Normalises whatever the ceremony's loadIssuer returns into what serve needs. */
function fromCeremony(dir: string, v: unknown): LoadedIssuer | undefined {
  const o = v as Record<string, unknown> | undefined;
  if (!o || typeof o !== 'object') return undefined;
  const certificate = (o.certificate ?? o.intermediate) as LoadedIssuer['certificate'] | undefined;
  const privateKey = (o.privateKey ?? (o.keys as CryptoKeyPair | undefined)?.privateKey) as CryptoKey | undefined;
  if (!certificate || !privateKey || typeof (certificate as { toString?: unknown }).toString !== 'function') return undefined;
  const rootPath = typeof o.rootPath === 'string' ? o.rootPath : join(dir, FILES.root);
  return { certificate, privateKey, intermediatePem: certificate.toString('pem'), rootPath };
}

/** The intermediate for `serve --state DIR`: `loadIssuer` of cli/issuer.ts, else the files above. */
export async function loadServeIssuer(ctx: CliContext, dir: string, passphraseFile: string | undefined): Promise<LoadedIssuer> {
  const { getPassphrase } = await import('./secrets.js');
  const { INTERMEDIATE_PASSPHRASE_CREDENTIAL } = await import('./serve-run.js');
  if (!(await exists(join(dir, FILES.intermediate))) && !(await exists(join(dir, 'issuer')))) {
    throw new CliError('not-found', `no issuer in ${dir}: run "nixca issuer init" and "nixca issuer install" (or "nixca serve --dev" for a development PKI)`);
  }
  const passphrase = await getPassphrase(ctx.io, { file: passphraseFile, credential: INTERMEDIATE_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'intermediate key' });
  const ceremony = (await import('./issuer.js')) as unknown as ExternalLoader;
  if (typeof ceremony.loadIssuer === 'function') {
    const got = fromCeremony(dir, await ceremony.loadIssuer(dir, passphrase));
    if (got) return got;
  }
  return loadFiles(dir, passphrase);
}

async function loadFiles(dir: string, passphrase: string): Promise<LoadedIssuer> {
  const { x509 } = await import('../src/ca/x509.js');
  const { decryptPrivateKey, spkiOf } = await import('../src/ca/keys.js');
  const intermediatePem = await readText(join(dir, FILES.intermediate), 'intermediate certificate');
  let certificate;
  try {
    certificate = new x509.X509Certificate(intermediatePem);
  } catch (err) {
    throw new CliError('input', `${join(dir, FILES.intermediate)} is not a PEM certificate: ${(err as Error).message}`);
  }
  const keys = await decryptPrivateKey(await readText(join(dir, FILES.intermediateKey), 'intermediate key'), passphrase);
  const certSpki = Buffer.from(certificate.publicKey.rawData);
  if (!certSpki.equals(await spkiOf(keys.publicKey))) throw new CliError('input', `${FILES.intermediateKey} does not belong to ${FILES.intermediate}`);
  return { certificate, privateKey: keys.privateKey, intermediatePem: certificate.toString('pem'), rootPath: join(dir, FILES.root) };
}

/** Creates the development PKI once (idempotent: the marker is written last), then loads it. */
export async function prepareDev(ctx: CliContext, opts: ServeOptions): Promise<{ issuer: LoadedIssuer; dir: string }> {
  const dir = resolve(ctx.io.cwd, opts.state ?? DEV_STATE_DIR);
  await ensureDir(dir);
  const marker = join(dir, DEV_MARKER);
  const firstRun = !(await exists(marker));
  if (firstRun) {
    if (await exists(join(dir, 'issuer'))) {
      throw new CliError('conflict', `${dir} holds a production issuer; --dev only uses a development state directory (default ./${DEV_STATE_DIR})`);
    }
    await createDevPki(ctx, dir);
  }
  const passphrase = (await readText(join(dir, FILES.devPassphrase), 'development passphrase')).trim();
  const issuer = await loadFiles(dir, passphrase);
  printNextSteps(ctx, dir, opts, firstRun);
  return { issuer, dir };
}

async function createDevPki(ctx: CliContext, dir: string): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const { createRoot } = await import('../src/ca/root.js');
  const { createIntermediateRequest, signIntermediate } = await import('../src/ca/intermediate.js');
  const { encryptPrivateKey } = await import('../src/ca/keys.js');
  const { openInventoryStore } = await import('../src/store/inventory.js');
  const { addNode, ensureEab } = await import('../src/inventory/inventory.js');
  const now = ctx.io.now();
  // The root key lives only in this process: a development root signs one intermediate and is gone.
  const root = await createRoot({ commonName: DEV_ROOT_CN, permittedDns: DEV_PERMITTED_DNS, validityDays: 3650, now });
  const req = await createIntermediateRequest({ commonName: DEV_INTERMEDIATE_CN, keyAlgorithm: 'ECDSA-P256' });
  const inter = await signIntermediate({ certificate: root.certificate, privateKey: root.keys.privateKey }, req.csr, { validityDays: 365, now });
  // The intermediate key is encrypted at rest like a production one; the passphrase sits next to
  // it (0600) because this PKI is for development only.
  const passphrase = randomBytes(24).toString('base64url');
  await writeFileAtomic(join(dir, FILES.devPassphrase), passphrase + '\n', 0o600);
  await writeFileAtomic(join(dir, FILES.intermediateKey), await encryptPrivateKey(req.keys.privateKey, passphrase), 0o600);
  await writeFileAtomic(join(dir, FILES.intermediate), inter.toString('pem') + '\n', 0o644);
  await writeFileAtomic(join(dir, FILES.root), root.certificate.toString('pem') + '\n', 0o644);
  const inv = await openInventoryStore(dir);
  const eab = await inv.update((d) => {
    if (!d.nodes.some((n) => n.name === DEV_NODE)) addNode(d, { name: DEV_NODE, dnsNames: [DEV_NODE_NAME], site: 'dev' }, now);
    return ensureEab(d, DEV_NODE, now, false).node.eab!;
  });
  await writeFileAtomic(join(dir, FILES.devEab), `NIXCA_EAB_KEY_ID=${eab.keyId}\nNIXCA_EAB_MAC_KEY=${eab.macKey}\n`, 0o600);
  await writeFileAtomic(join(dir, DEV_MARKER), JSON.stringify({
    warning: 'DEVELOPMENT PKI: the intermediate passphrase is stored next to the key. Never trust this root outside a lab.',
    createdAt: now.toISOString(),
    root: FILES.root,
    rootSha256: Buffer.from(await root.certificate.getThumbprint('SHA-256')).toString('hex'),
    permittedDns: DEV_PERMITTED_DNS,
    exampleNode: { name: DEV_NODE, dnsNames: [DEV_NODE_NAME], eabEnvFile: FILES.devEab },
  }, null, 2) + '\n', 0o644);
}

function printNextSteps(ctx: CliContext, dir: string, opts: ServeOptions, firstRun: boolean): void {
  const port = /:(\d+)$/.exec(opts.listen ?? '127.0.0.1:8443')?.[1] ?? '8443';
  const base = (opts.baseUrl ?? `https://localhost:${port}/`).replace(/\/?$/, '/');
  const directory = `${base}directory`;
  const rootPath = join(dir, FILES.root);
  const eabPath = join(dir, FILES.devEab);
  ctx.io.out([
    '',
    firstRun ? `nixca: created a DEVELOPMENT PKI in ${dir} (not for production)` : `nixca: reusing the DEVELOPMENT PKI in ${dir}`,
    '',
    `  ACME directory:    ${directory}`,
    `  root certificate:  ${rootPath}`,
    `  example node:      ${DEV_NODE} (${DEV_NODE_NAME})`,
    `  EAB env file:      ${eabPath}`,
    '',
    'Next steps:',
    `  curl --cacert ${rootPath} ${directory}`,
    `  nixca node add NODE --dns NAME.n3x.internal --state ${dir}    # more nodes`,
    `  nixca node eab NODE --out NODE.eab.env --state ${dir}`,
    '',
    `Caddyfile for ${DEV_NODE} (run caddy with the EAB env file as environment,`,
    `e.g. systemd EnvironmentFile=${eabPath}):`,
    '',
    `  ${DEV_NODE_NAME} {`,
    '    tls {',
    '      issuer acme {',
    `        dir ${directory}`,
    `        trusted_roots ${rootPath}`,
    '        eab {$NIXCA_EAB_KEY_ID} {$NIXCA_EAB_MAC_KEY}',
    '      }',
    '    }',
    '    reverse_proxy 127.0.0.1:5000   # harmonia',
    '  }',
    '',
  ].join('\n'));
}
