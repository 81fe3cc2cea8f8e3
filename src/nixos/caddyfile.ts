// A node's Caddy site blocks, one per DNS name, in their own file so that `caddy adapt` can check
// them alone (nix-notes §2.4). Syntax verified with caddy 2.6.2: `tls { issuer acme { dir …;
// trusted_roots …; eab <key_id> <mac_key> } }` (modules/caddytls/acmeissuer.go).
//
// The EAB credential never appears here: `{$NIXCA_EAB_KEY_ID}`/`{$NIXCA_EAB_MAC_KEY}` are
// substituted from the process environment when Caddy parses the Caddyfile, and the environment
// comes from services.caddy.environmentFile (a root-only runtime file). `{env.*}` would not work
// for EAB before Caddy 2.11.3 (nix-notes §2.4).
import { commentLines } from './nix-expr.js';
import { NixosError } from './errors.js';

export const EAB_KEY_ID_VAR = 'NIXCA_EAB_KEY_ID';
export const EAB_MAC_KEY_VAR = 'NIXCA_EAB_MAC_KEY';

export interface SiteBlocksInput {
  header: readonly string[];
  hostNames: readonly string[];
  acmeDirectory: string;
  trustedRootsFile: string;
  upstream: string;
}

// Every token is written unquoted: allow only characters with no Caddyfile meaning (no spaces,
// quotes, braces, '#', backslashes). Names and URLs were validated before; this is the backstop.
const TOKEN = /^[A-Za-z0-9._~:/%@+[\]-]+$/;

function token(s: string): string {
  if (!TOKEN.test(s)) throw new NixosError('NIXOS_NAME_INVALID', `${JSON.stringify(s)} cannot be written as a Caddyfile token`);
  return s;
}

export function renderSiteBlocks(input: SiteBlocksInput): string {
  const blocks = input.hostNames.map((host) =>
    [
      `${token(host)} {`,
      '\ttls {',
      '\t\tissuer acme {',
      `\t\t\tdir ${token(input.acmeDirectory)}`,
      `\t\t\ttrusted_roots ${token(input.trustedRootsFile)}`,
      `\t\t\teab {$${EAB_KEY_ID_VAR}} {$${EAB_MAC_KEY_VAR}}`,
      '\t\t}',
      '\t}',
      `\treverse_proxy ${token(input.upstream)}`,
      '}',
    ].join('\n'),
  );
  return commentLines(input.header, '#') + '\n' + blocks.join('\n\n') + '\n';
}
