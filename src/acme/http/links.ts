// The one module that turns ids into URLs and URLs back into ids (step-ca's linker). Every link is
// built from the configured external base URL, never from request headers (notes §2.3, step-ca #193).

export const PATHS = {
  directory: 'directory',
  newNonce: 'new-nonce',
  newAccount: 'new-account',
  newOrder: 'new-order',
  revokeCert: 'revoke-cert',
  keyChange: 'key-change',
  account: 'acct/:id',
  accountOrders: 'acct/:id/orders',
  order: 'order/:id',
  finalize: 'order/:id/finalize',
  authz: 'authz/:id',
  challenge: 'chall/:authzId/:challengeId',
  certificate: 'cert/:serial',
  renewalInfo: 'renewal-info',
  renewalInfoCert: 'renewal-info/:certId',
  crl: 'crl',
  health: 'health',
  metrics: 'metrics',
} as const;

export type Links = ReturnType<typeof createLinks>;

export function createLinks(baseUrl: string | URL) {
  const base = new URL(baseUrl);
  if (base.search || base.hash) throw new RangeError('the ACME base URL must not have a query or fragment');
  if (base.protocol !== 'https:') throw new RangeError('the ACME base URL must be https (RFC 8555 §6.1: use of HTTPS is REQUIRED)');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const root = base.href;
  const at = (path: string) => root + path;
  const accountPrefix = at('acct/');
  return {
    /** URL path prefix under which routes are registered ('/' or '/acme/'). */
    prefix: base.pathname,
    origin: base.origin,
    directory: at(PATHS.directory),
    newNonce: at(PATHS.newNonce),
    newAccount: at(PATHS.newAccount),
    newOrder: at(PATHS.newOrder),
    revokeCert: at(PATHS.revokeCert),
    keyChange: at(PATHS.keyChange),
    renewalInfo: at(PATHS.renewalInfo),
    crl: at(PATHS.crl),
    account: (id: string) => accountPrefix + encodeURIComponent(id),
    accountOrders: (id: string) => `${accountPrefix}${encodeURIComponent(id)}/orders`,
    order: (id: string) => at(`order/${encodeURIComponent(id)}`),
    finalize: (id: string) => at(`order/${encodeURIComponent(id)}/finalize`),
    authz: (id: string) => at(`authz/${encodeURIComponent(id)}`),
    challenge: (authzId: string, challengeId: string) => at(`chall/${encodeURIComponent(authzId)}/${encodeURIComponent(challengeId)}`),
    certificate: (serial: string) => at(`cert/${encodeURIComponent(serial)}`),
    /** The account id of a `kid`, or undefined when the kid is not one of our account URLs. */
    accountIdOf(kid: string): string | undefined {
      if (!kid.startsWith(accountPrefix)) return undefined;
      const id = kid.slice(accountPrefix.length);
      return /^[A-Za-z0-9_-]+$/.test(id) ? id : undefined;
    },
    /** The URL a request was sent to, as the JWS `url` must spell it (§6.4): base origin + raw path. */
    requestUrl(rawUrl: string): string {
      return base.origin + rawUrl;
    },
  };
}
