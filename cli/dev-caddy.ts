// The Caddyfile `serve --dev` prints: Caddy 2.6 global options that point Caddy's ACME issuer at
// this issuer (acme_ca, acme_ca_root, acme_eab) and put Caddy on exactly the ports the issuer
// validates (http_port for http-01, RFC 8555 §8.3; https_port for tls-alpn-01, RFC 8737 §3), so
// a Caddy without root works when both sides use ports above 1024.

export interface CaddyDevOptions {
  directory: string;
  rootPath: string;
  /** The issuer's --http01-port: Caddy's http_port. */
  httpPort: number;
  /** The issuer's --tls-alpn01-port: Caddy's https_port. */
  httpsPort: number;
  /** Caddy's admin endpoint (default localhost:2019; movable like every other port). */
  adminAddress?: string;
}

/** The global options block (Caddy 2.6 Caddyfile syntax), tab-indented as `caddy fmt` writes it. */
export function caddyGlobalOptions(o: CaddyDevOptions): string {
  return [
    '{',
    `\tacme_ca ${o.directory}`,
    `\tacme_ca_root ${o.rootPath}`,
    '\tacme_eab {',
    '\t\tkey_id {$NIXCA_EAB_KEY_ID}',
    '\t\tmac_key {$NIXCA_EAB_MAC_KEY}',
    '\t}',
    `\thttp_port ${o.httpPort}`,
    `\thttps_port ${o.httpsPort}`,
    `\tadmin ${o.adminAddress ?? 'localhost:2019'}`,
    '}',
  ].join('\n');
}

/** A whole Caddyfile for one node: the global options and a site that proxies to Harmonia. */
export function caddyfileFor(o: CaddyDevOptions, site: string, upstream = '127.0.0.1:5000'): string {
  return `${caddyGlobalOptions(o)}\n\n${site} {\n\treverse_proxy ${upstream}\n}\n`;
}

/** One line for the banner when Caddy would need root (a port below 1024), else null. */
export function privilegedPortNote(o: Pick<CaddyDevOptions, 'httpPort' | 'httpsPort'>): string | null {
  const low = [o.httpPort, o.httpsPort].filter((p) => p < 1024);
  if (low.length === 0) return null;
  return `${low.length === 1 ? 'port' : 'ports'} ${low.join(', ')} need${low.length === 1 ? 's' : ''} root or CAP_NET_BIND_SERVICE; to run Caddy without root start this issuer with e.g. --http01-port 8080 --tls-alpn01-port 8444`;
}
