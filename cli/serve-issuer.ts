// The production issuer `serve` signs with: STATE/issuer as `nixca issuer init` + `issuer install`
// left it (src/ceremony/issuer-dir.ts). The passphrase is asked for only after every file check.
import type { CliContext } from './context.js';
import type { LoadedIssuer } from '../src/ceremony/issuer-dir.js';

export async function loadProductionIssuer(ctx: CliContext, dir: string, passphraseFile: string | undefined): Promise<LoadedIssuer> {
  const { getPassphrase, ISSUER_PASSPHRASE_CREDENTIAL } = await import('./secrets.js');
  const { loadIssuer } = await import('../src/ceremony/issuer-dir.js');
  const passphrase = () => getPassphrase(ctx.io, { file: passphraseFile, credential: ISSUER_PASSPHRASE_CREDENTIAL, confirm: false, purpose: 'intermediate key' });
  return loadIssuer(dir, passphrase, ctx.io.now());
}
