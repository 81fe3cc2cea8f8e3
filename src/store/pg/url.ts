// The --store URL's checks, apart from the driver (connect.ts): a process on the embedded store
// checks its selection with these and never loads node-postgres.
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
  readonly kind = 'usage';
}

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** The URL as it may appear in logs and messages: no password, no query except the socket host. */
export function redactStoreUrl(url: string): string {
  try {
    const u = parseUrl(url, false);
    if (u.password) u.password = 'REDACTED';
    const host = u.searchParams.get('host');
    const port = u.searchParams.get('port');
    const user = u.searchParams.get('user');
    u.search = '';
    if (host) u.searchParams.set('host', host);
    if (port) u.searchParams.set('port', port);
    if (user) u.searchParams.set('user', user);
    return u.toString().replace(/^(postgres(?:ql)?:\/\/[^/@]*@)socket\.invalid\//i, '$1/');
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * A --store value as a hint prints it, ready to paste into a shell: single-quoted when it holds a
 * character the shell would act on (`?` globs, `&` backgrounds: a socket URL has both).
 */
export function shellQuotedStoreUrl(display: string): string {
  return /^[\w@%+=:,./-]+$/.test(display) ? display : `'${display.replaceAll("'", `'\\''`)}'`;
}

/**
 * libpq's forms: postgres://USER@HOST:PORT/DB, and for a unix socket postgres://USER@/DB?host=/dir
 * or postgres:///DB?host=/dir&user=USER. WHATWG URL cannot parse "USER@" with an empty host, so a
 * placeholder host is put in for parsing and dropped again.
 */
export function parseUrl(url: string, strict = true): URL {
  let u: URL;
  try {
    u = new URL(url.replace(/^(postgres(?:ql)?:\/\/[^/@]*)@\//i, '$1@socket.invalid/'));
  } catch {
    throw new StoreConfigError(`--store is not a URL: ${redactStoreUrl(url)}`);
  }
  if (!strict) return u;
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new StoreConfigError(`--store must be a postgres:// URL, got ${u.protocol}//…`);
  if (u.password) throw new StoreConfigError('--store must not carry a password (it would be visible in the process list): use peer authentication over a unix socket or --store-password-file');
  if (!u.pathname.replace(/^\//, '')) throw new StoreConfigError(`--store must name a database: ${redactStoreUrl(url)}`);
  return u;
}
