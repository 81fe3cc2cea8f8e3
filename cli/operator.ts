// `nixca operator cert NAME --out DIR`: a short-lived TLS client certificate from the intermediate
// (src/ca/operator.ts profile: clientAuth only, no DNS names) that opens the dashboard on a
// non-loopback listener. The key is made here and written 0600 next to the certificate; the
// issuance is recorded in the audit log (who may look, until when).
import type { Command } from 'commander';
import { STATE_OPTION_HELP, stateDir, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';

export const DEFAULT_OPERATOR_VALIDITY = '12h';

export const registerOperator: RegisterGroup = (program: Command, ctx: CliContext) => {
  const operator = program.command('operator').description('people who read the dashboard (docs/dashboard.md)');

  operator
    .command('cert')
    .description('issue a short-lived TLS client certificate (clientAuth only, no DNS names) for the dashboard on a non-loopback listener')
    .argument('<name>', 'operator name: lowercase letters, digits, - or _ (shown in the dashboard and the audit log)')
    .requiredOption('--out <dir>', 'directory for NAME.key.pem (0600) and NAME.crt.pem (certificate + intermediate); files must not exist')
    .option('--validity <duration>', 'lifetime, at most 7d', DEFAULT_OPERATOR_VALIDITY)
    .option('--passphrase-file <file>', 'file holding the intermediate key passphrase (else $CREDENTIALS_DIRECTORY/nixca-intermediate-passphrase, else a prompt)')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { out: string; validity: string; passphraseFile?: string; state?: string; json?: boolean }) => {
      const { isValidOperatorName, issueOperatorCertificate, OPERATOR_MAX_LIFETIME_MS } = await import('../src/ca/operator.js');
      const { parseDuration } = await import('../src/config/duration.js');
      if (!isValidOperatorName(name)) throw new CliError('usage', `operator name ${JSON.stringify(name)} must be lowercase letters, digits, '-' or '_' (no dots), at most 63 characters`);
      const lifetimeMs = parseDuration('--validity', opts.validity);
      if (lifetimeMs > OPERATOR_MAX_LIFETIME_MS) throw new CliError('usage', '--validity must be at most 7d (operator certificates are short-lived instead of revocable)');
      const { join, resolve } = await import('node:path');
      const { ensureDir, exists, writeNewFile } = await import('./files.js');
      const out = resolve(ctx.io.cwd, opts.out);
      const keyPath = join(out, `${name}.key.pem`);
      const certPath = join(out, `${name}.crt.pem`);
      for (const p of [keyPath, certPath]) if (await exists(p)) throw new CliError('conflict', `${p} already exists; refusing to overwrite it`);
      const state = stateDir(ctx, opts.state);
      const { loadProductionIssuer } = await import('./serve-issuer.js');
      const issuer = await loadProductionIssuer(ctx, state, opts.passphraseFile);
      const { generateKeyPair, exportPrivateKeyPem } = await import('../src/ca/keys.js');
      const keys = await generateKeyPair('ECDSA-P256');
      const now = ctx.io.now();
      // Backdated a little for clock skew, like leaves; capped by the intermediate's own notAfter.
      const notBefore = new Date(now.getTime() - 5 * 60_000);
      const notAfter = new Date(Math.min(now.getTime() + lifetimeMs, issuer.certificate.notAfter.getTime()));
      const cert = await issueOperatorCertificate(issuer, { name, publicKey: keys.publicKey, notBefore, notAfter });
      const serial = cert.serialNumber.toLowerCase();
      const { recordAudit } = await import('./audit.js');
      // Recorded before the files exist: an operator certificate nobody can account for never exists.
      await recordAudit(state, { type: 'operator.certificate-issued', subject: name, details: { serial, notAfter: notAfter.toISOString() } });
      await ensureDir(out);
      await writeNewFile(keyPath, await exportPrivateKeyPem(keys.privateKey), 0o600);
      await writeNewFile(certPath, cert.toString('pem') + '\n' + issuer.intermediatePem.trim() + '\n', 0o644);
      const result = { operator: name, serial, notAfter: notAfter.toISOString(), key: keyPath, certificate: certPath };
      emit(ctx.io, opts, result, (r) =>
        [
          `operator certificate for ${r.operator}: serial ${r.serial}, valid until ${r.notAfter}`,
          `  key:         ${r.key} (0600; never copy it off the machine you browse from)`,
          `  certificate: ${r.certificate}`,
          'For a browser, bundle them (asks for an export password):',
          `  openssl pkcs12 -export -inkey ${r.key} -in ${r.certificate} -out ${join(out, `${name}.p12`)}`,
          `With curl: curl --cacert ROOT.pem --cert ${r.certificate} --key ${r.key} https://HOST:8444/api/status.json`,
        ].join('\n'),
      );
    });
};
