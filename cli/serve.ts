// `nixca serve`: the online ACME issuer (RFC 8555) over HTTPS, with its own certificate from the
// intermediate. `--dev` first creates a clearly labelled development PKI in ./nixca-state (the
// README's main job). The heavy lifting lives in serve-run.ts / dev.ts, imported lazily.
import type { Command } from 'commander';
import { collect, STATE_OPTION_HELP, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';


function parsePort(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new CliError('usage', `${flag} must be a port number 1-65535, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

export interface ServeOptions {
  state?: string;
  listen?: string;
  baseUrl?: string;
  eab: string;
  resolve?: string[];
  http01Port: number;
  tlsAlpn01Port: number;
  leafLifetime: string;
  tlsLifetime?: string;
  validationTimeout: string;
  challengeWait: string;
  passphraseFile?: string;
  logLevel: string;
  dev?: boolean;
  /** false with --no-crl. */
  crl: boolean;
  crlUrl?: string;
  /** false with --no-metrics. */
  metrics: boolean;
}

export const registerServe: RegisterGroup = (program: Command, ctx: CliContext) => {
  program
    .command('serve')
    .description('run the ACME issuer (RFC 8555) over HTTPS; --dev creates and uses a development PKI in ./nixca-state')
    .option('--state <dir>', STATE_OPTION_HELP + '; with --dev: ./nixca-state')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8443)')
    .option('--base-url <url>', 'external base URL clients use (links and the JWS url check); default https://localhost:PORT/ for a loopback listener')
    .option('--eab <mode>', 'External Account Binding: required (accounts bound to a node) or optional (labs: any inventory name on challenge proof alone)', 'required')
    .option('--resolve <name=ip>', 'resolve NAME to IP for challenge validation (repeatable; split-horizon DNS, tests)', collect)
    .option('--http01-port <n>', 'port http-01 validation connects to (RFC 8555 §8.3: 80)', parsePort('--http01-port'), 80)
    .option('--tls-alpn01-port <n>', 'port tls-alpn-01 validation connects to (RFC 8737: 443)', parsePort('--tls-alpn01-port'), 443)
    .option('--leaf-lifetime <duration>', 'lifetime of issued certificates, e.g. 7d, 36h (also the longest notAfter a client may ask for)', '7d')
    .option('--tls-lifetime <duration>', "lifetime of the issuer's own HTTPS certificate (default: the leaf lifetime); renewed at 2/3 of it")
    .option('--validation-timeout <duration>', 'per-attempt timeout of a challenge validation (3 attempts)', '8s')
    .option('--challenge-wait <duration>', 'how long a challenge response waits for its validation before answering "processing" (0 to answer at once)', '1s')
    .option('--passphrase-file <file>', 'file holding the intermediate key passphrase (else $CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, else a prompt)')
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, trace, silent', 'info')
    .option('--crl-url <url>', 'CRL distribution point written into leaves (default: <base-url>crl, served by this issuer); use it when a mirror serves the CRL, e.g. over plain http')
    .option('--no-crl', 'serve no CRL and write no CRL distribution point into leaves')
    .option('--no-metrics', 'do not serve GET <base-url>metrics (Prometheus text; /health is always served)')
    .option('--dev', 'development mode: create (first run) or reuse a DEVELOPMENT root, intermediate and example node, print next steps, then serve')
    .addHelpText('after', `
Examples:
  nixca serve --dev                                  # development PKI in ./nixca-state, https://localhost:8443/directory
  nixca serve --state /var/lib/nixca --listen 0.0.0.0:8443 --base-url https://acme.n3x.internal:8443/
  nixca serve --state DIR --resolve cache.nuc-1.n3x.internal=10.0.0.5 --eab optional
See docs/serving.md.`)
    .action(async (opts: ServeOptions) => {
      if (opts.eab !== 'required' && opts.eab !== 'optional') throw new CliError('usage', `--eab must be "required" or "optional", got ${JSON.stringify(opts.eab)}`);
      const { runServe } = await import('./serve-run.js');
      await runServe(ctx, opts);
    });
};
