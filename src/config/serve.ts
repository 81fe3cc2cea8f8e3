// The typed configuration of `nixca serve`: every flag is one key of SERVE_SETTINGS, the same key
// in a --config file (JSON, schema: `nixca serve --print-config-schema`). Flags are parsed once,
// here, into a ServeConfig that both the CLI and the server use. To add a setting: add one entry
// to SERVE_SETTINGS (its flag, help, default and parser); the flag, the file key, the schema and
// --print-config follow from it.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { probePathHash } from '../probe/probe.js';
import { DEFAULT_LIMITS, type AcmeLimits } from '../acme/limits.js';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../acme/http/connection.js';
import {
  booleanSetting, countSetting, durationSetting, enumSetting, listSetting, pathSetting, portSetting, redactUrlPassword, resolveConfig, showConfig, stringSetting,
  type ConfigOf, type SettingsTable,
} from './settings.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export const DEFAULT_LISTEN = '127.0.0.1:8443';
export const DEFAULT_DASHBOARD_LISTEN = '127.0.0.1:8444';

export const SERVE_SETTINGS = {
  state: pathSetting({ flag: '--state <dir>', help: 'issuer state directory (default: $NIXCA_STATE_DIR or /var/lib/nixca; with --dev: ./nixca-state)', default: undefined }),
  listen: stringSetting({ flag: '--listen <host:port>', help: `address to listen on (default ${DEFAULT_LISTEN})`, default: DEFAULT_LISTEN, check: (v, o) => void parseListen(v, o.what) }),
  baseUrl: stringSetting({ flag: '--base-url <url>', help: 'external base URL clients use (links and the JWS url check); default https://localhost:PORT/ for a loopback listener', default: undefined }),
  eab: enumSetting({ flag: '--eab <mode>', help: 'External Account Binding: required (accounts bound to a node) or optional (labs: any inventory name on challenge proof alone)', default: 'required', values: ['required', 'optional'] }),
  resolve: listSetting({ flag: '--resolve <name=ip>', help: 'resolve NAME to IP for challenge validation (repeatable; split-horizon DNS, tests)' }),
  http01Port: portSetting({ flag: '--http01-port <n>', help: 'port http-01 validation connects to (RFC 8555 §8.3: 80)', default: 80 }),
  tlsAlpn01Port: portSetting({ flag: '--tls-alpn01-port <n>', help: 'port tls-alpn-01 validation connects to (RFC 8737 §3: 443)', default: 443 }),
  leafLifetime: durationSetting({ flag: '--leaf-lifetime <duration>', help: 'lifetime of issued certificates, e.g. 7d, 36h (also the longest notAfter a client may ask for)', default: 7 * 86_400_000 }),
  tlsLifetime: durationSetting({ flag: '--tls-lifetime <duration>', help: "lifetime of the issuer's own HTTPS certificate (default: the leaf lifetime, at most 7d); renewed at 2/3 of it", default: undefined }),
  validationTimeout: durationSetting({ flag: '--validation-timeout <duration>', help: 'per-attempt timeout of a challenge validation (3 attempts)', default: 8000 }),
  challengeWait: durationSetting({ flag: '--challenge-wait <duration>', help: 'how long a challenge response waits for its validation before answering "processing" (0s to answer at once)', default: 1000, allowZero: true }),
  passphraseFile: pathSetting({ flag: '--passphrase-file <file>', help: 'file holding the intermediate key passphrase (else $CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, else a prompt)', default: undefined }),
  logLevel: enumSetting({ flag: '--log-level <level>', help: `log level: ${LOG_LEVELS.join(', ')}`, default: 'info', values: LOG_LEVELS }),
  logFormat: enumSetting({ flag: '--log-format <format>', help: 'auto (pretty on a terminal, JSON otherwise), pretty or json', default: 'auto', values: LOG_FORMATS }),
  crlUrl: stringSetting({ flag: '--crl-url <url>', help: 'CRL distribution point written into leaves (default: <base-url>crl, served by this issuer); use it when a mirror serves the CRL, e.g. over plain http', default: undefined, redact: redactUrlPassword }),
  crl: booleanSetting({ flag: '--no-crl', help: 'serve no CRL and write no CRL distribution point into leaves' }),
  metrics: booleanSetting({ flag: '--no-metrics', help: 'do not serve GET <base-url>metrics (Prometheus text; /health is always served)' }),
  store: stringSetting({ flag: '--store <url>', help: 'shared store for several instances: postgres://USER@HOST/DB or postgres://USER@/DB?host=/run/postgresql (default: $NIXCA_STORE, else the embedded store in --state; docs/postgres.md)', default: undefined, redact: redactUrlPassword, check: (v, o) => {
    if (!/^postgres(ql)?:\/\//i.test(v)) throw new ConfigError('CONFIG_INVALID', `${o.what} must be a postgres:// URL (absent: the embedded store in --state)`);
  } }),
  storePasswordFile: pathSetting({ flag: '--store-password-file <file>', help: 'file holding the database password (else $CREDENTIALS_DIRECTORY/nixca-store-password if present, else peer authentication)', default: undefined }),
  adminSocket: pathSetting({ flag: '--admin-socket <path>', help: 'unix socket for operator commands while serving (mode 0600; root and this user only; never TCP); default: $NIXCA_ADMIN_SOCKET or STATE/admin.sock', default: undefined }),
  dev: booleanSetting({ flag: '--dev', help: 'development mode: create (first run) or reuse a DEVELOPMENT root, intermediate and example node, print next steps, then serve' }),
  dashboard: booleanSetting({ flag: '--dashboard', help: 'also serve the read-only fleet dashboard (HTTPS, own listener; docs/dashboard.md)' }),
  dashboardListen: stringSetting({ flag: '--dashboard-listen <host:port>', help: `dashboard address (default ${DEFAULT_DASHBOARD_LISTEN}); a non-loopback address requires operator certificates (nixca operator cert)`, default: DEFAULT_DASHBOARD_LISTEN, check: (v, o) => void parseListen(v, o.what) }),
  dashboardRequireClientCert: booleanSetting({ flag: '--dashboard-require-client-cert', help: 'require operator certificates on a loopback dashboard address too (hosts with other local users)' }),
  probeInterval: durationSetting({ flag: '--probe-interval <duration>', help: 'probe every node as `nixca status --probe` does, this often (at least 10s), for the dashboard; off when not set', default: undefined }),
  probePort: portSetting({ flag: '--probe-port <n>', help: 'HTTPS port of the nodes for the dashboard probes', default: 443 }),
  probePath: listSetting({ flag: '--probe-path <hash|storepath>', help: "a store path expected in every cache, for the probes' narinfo check (repeatable)", item: (v, o) => {
    if (!probePathHash(v)) throw new ConfigError('CONFIG_INVALID', `${o.what} must be a store path or its 32-character hash, got ${JSON.stringify(v)}`);
  } }),
  // Limits (RFC 8555 §6.6; README "Limits"): defaults far above an honest fleet.
  maxPendingOrders: countSetting({ flag: '--max-pending-orders <n>', help: 'unfinished (pending, ready, processing) orders one account may hold', default: DEFAULT_LIMITS.pendingOrdersPerAccount }),
  maxPendingAuthorizations: countSetting({ flag: '--max-pending-authorizations <n>', help: 'pending authorizations one account may hold', default: DEFAULT_LIMITS.pendingAuthorizationsPerAccount }),
  maxIdentifiers: countSetting({ flag: '--max-identifiers <n>', help: 'identifiers in one order', default: DEFAULT_LIMITS.identifiersPerOrder }),
  maxAccountsPerEab: countSetting({ flag: '--max-accounts-per-eab <n>', help: 'new accounts per External Account Binding credential per hour', default: DEFAULT_LIMITS.newAccountsPerEabCredential.count }),
  maxAccountsPerIp: countSetting({ flag: '--max-accounts-per-ip <n>', help: 'new accounts per client IP address per hour', default: DEFAULT_LIMITS.newAccountsPerIp.count }),
  maxConnections: countSetting({ flag: '--max-connections <n>', help: 'concurrent connections to the ACME listener; more are closed at once', default: DEFAULT_CONNECTION_LIMITS.maxConnections }),
  headersTimeout: durationSetting({ flag: '--headers-timeout <duration>', help: 'time a client has to send a request\'s headers', default: DEFAULT_CONNECTION_LIMITS.headersTimeoutMs }),
  requestTimeout: durationSetting({ flag: '--request-timeout <duration>', help: 'time a client has to send a whole request', default: DEFAULT_CONNECTION_LIMITS.requestTimeoutMs }),
  keepAliveTimeout: durationSetting({ flag: '--keep-alive-timeout <duration>', help: 'an idle keep-alive connection is closed after this', default: DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs }),
} satisfies SettingsTable;

/** The limits of the ACME core (AcmeDeps.limits) from the configuration. */
export function acmeLimitsOf(c: ConfigOf<typeof SERVE_SETTINGS>): Partial<AcmeLimits> {
  return {
    pendingOrdersPerAccount: c.maxPendingOrders,
    pendingAuthorizationsPerAccount: c.maxPendingAuthorizations,
    identifiersPerOrder: c.maxIdentifiers,
    newAccountsPerEabCredential: { count: c.maxAccountsPerEab, windowMs: 3_600_000 },
    newAccountsPerIp: { count: c.maxAccountsPerIp, windowMs: 3_600_000 },
  };
}

/** The listener's connection limits from the configuration. */
export function connectionLimitsOf(c: ConfigOf<typeof SERVE_SETTINGS>): ConnectionLimits {
  return { maxConnections: c.maxConnections, headersTimeoutMs: c.headersTimeout, requestTimeoutMs: c.requestTimeout, keepAliveTimeoutMs: c.keepAliveTimeout };
}

/** The effective `serve` configuration (defaults < --config file < flags), state directory resolved. */
export type ServeConfig = Omit<ConfigOf<typeof SERVE_SETTINGS>, 'state'> & { state: string };

export const DEV_STATE_DIR = 'nixca-state';

/**
 * Parses the sources once into the typed configuration. `file` is a parsed --config file,
 * `flags` the values given on the command line (only those: defaults come from the table), and
 * `defaultState` the state directory the environment names ($NIXCA_STATE_DIR, else /var/lib/nixca);
 * with `dev` the default is ./nixca-state instead.
 */
export function resolveServeConfig(sources: Parameters<typeof resolveConfig>[1], defaultState: string): ServeConfig {
  const c = resolveConfig(SERVE_SETTINGS, sources);
  const state = c.state ?? (c.dev ? resolve(sources.cwd, DEV_STATE_DIR) : defaultState);
  const config = { ...c, state };
  planServe(config);
  planDashboard(config);
  return config;
}

/** --print-config: every key, canonical values, secrets redacted; a valid --config file as is. */
export function showServeConfig(c: ServeConfig): Record<string, unknown> {
  return showConfig(SERVE_SETTINGS, c);
}

export interface Listen {
  host: string;
  port: number;
}

export function parseListen(v: string, what = '--listen'): Listen {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new ConfigError('CONFIG_INVALID', `${what} must be HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443), got ${JSON.stringify(v)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** The external base URL (ends with '/'); links and the JWS `url` check (RFC 8555 §6.4) use it, never Host headers. */
export function resolveBaseUrl(flag: string | undefined, listen: Listen): URL {
  if (flag) {
    let u: URL;
    try {
      u = new URL(flag);
    } catch {
      throw new ConfigError('CONFIG_INVALID', `--base-url is not a URL: ${JSON.stringify(flag)}`);
    }
    if (u.protocol !== 'https:') throw new ConfigError('CONFIG_INVALID', '--base-url must be https:// (ACME requires HTTPS, RFC 8555 §6.1)');
    if (u.search || u.hash) throw new ConfigError('CONFIG_INVALID', '--base-url must not have a query or fragment');
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    return u;
  }
  if (isLoopback(listen.host)) return new URL(`https://localhost:${listen.port}/`);
  if (!isIP(listen.host) && listen.host) return new URL(`https://${listen.host}:${listen.port}/`);
  throw new ConfigError('CONFIG_INVALID', `--listen ${listen.host}:${listen.port} is not a loopback address: give --base-url https://NAME:PORT/ (the name clients use, covered by the intermediate's name constraints)`);
}

/**
 * The CRL distribution point leaves carry (RFC 5280 §4.2.1.13), or null with --no-crl: by default
 * the URL this issuer serves its CRL at, since a CDP belongs in a certificate only when a CRL is
 * actually served there.
 */
export function resolveCrlUrl(c: Pick<ServeConfig, 'crl' | 'crlUrl'>, baseUrl: URL): string | null {
  if (!c.crl) {
    if (c.crlUrl) throw new ConfigError('CONFIG_INVALID', '--crl-url and --no-crl contradict each other');
    return null;
  }
  if (!c.crlUrl) return new URL('crl', baseUrl).href;
  let u: URL;
  try {
    u = new URL(c.crlUrl);
  } catch {
    throw new ConfigError('CONFIG_INVALID', `--crl-url is not a URL: ${JSON.stringify(c.crlUrl)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('CONFIG_INVALID', '--crl-url must be an http:// or https:// URL');
  return u.href;
}

/** What the server derives from its configuration (checked before anything is created or loaded). */
export interface ServePlan {
  listen: Listen;
  baseUrl: URL;
  directoryUrl: string;
  crlUrl: string | null;
  tlsLifetimeMs: number;
}

export function planServe(c: ServeConfig): ServePlan {
  const listen = parseListen(c.listen);
  const baseUrl = resolveBaseUrl(c.baseUrl, listen);
  return {
    listen,
    baseUrl,
    directoryUrl: new URL('directory', baseUrl).href,
    crlUrl: resolveCrlUrl(c, baseUrl),
    tlsLifetimeMs: c.tlsLifetime ?? Math.min(c.leafLifetime, 7 * 86_400_000),
  };
}

/** The dashboard's listener and probes (cli/serve-dashboard.ts), or null without --dashboard. */
export interface DashboardPlan {
  listen: Listen;
  requireClientCert: boolean;
  probeIntervalMs: number | null;
  probePort: number;
  /** Store path hashes for the narinfo check. */
  probePaths: string[];
}

export function planDashboard(c: ServeConfig): DashboardPlan | null {
  if (!c.dashboard) {
    const stray = [c.dashboardListen !== DEFAULT_DASHBOARD_LISTEN && '--dashboard-listen', c.dashboardRequireClientCert && '--dashboard-require-client-cert', c.probeInterval !== undefined && '--probe-interval'].filter(Boolean);
    if (stray.length) throw new ConfigError('CONFIG_INVALID', `${stray.join(', ')} only take effect with --dashboard`);
    return null;
  }
  if (c.probeInterval !== undefined && c.probeInterval < 10_000) throw new ConfigError('CONFIG_INVALID', '--probe-interval must be at least 10s');
  return {
    listen: parseListen(c.dashboardListen, '--dashboard-listen'),
    requireClientCert: c.dashboardRequireClientCert,
    probeIntervalMs: c.probeInterval ?? null,
    probePort: c.probePort,
    probePaths: c.probePath.map((p) => probePathHash(p)!),
  };
}
