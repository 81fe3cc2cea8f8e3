// The --base-url host check, shared by `serve` and `serve --dev` (which checks it before it
// creates or prints anything): a module of its own, so that neither imports the other.
import { isIP } from 'node:net';
import { CliError } from './errors.js';

/**
 * The issuer's own TLS certificate names the --base-url host, and the intermediate signs it: the
 * host must be a DNS name its name constraints permit (RFC 5280 §4.2.1.10).
 */
export async function checkBaseUrlHost(host: string, permitted: readonly string[] | null, whose: string): Promise<void> {
  if (!host || isIP(host)) throw new CliError('usage', `--base-url host ${host} must be a DNS name (the intermediate issues DNS names only)`);
  const { dnsNamePermitted } = await import('../src/ca/constraints.js');
  if (permitted && !dnsNamePermitted(host, permitted)) {
    throw new CliError('policy', `the base URL host ${host} is outside ${whose} permitted DNS names (${permitted.join(', ')}); choose a --base-url under them`);
  }
}
