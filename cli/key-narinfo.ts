// `nixca key public|sign-narinfo|verify-narinfo`: working with key files and narinfo files
// (the fingerprint exactly as Nix computes it); the inventory is read only, never changed.
import type { Command } from 'commander';
import { collect, STATE_OPTION_HELP, type CliContext } from './context.js';
import { CliError } from './errors.js';
import { emit } from './io.js';
import { readSelectedInventory as readInventory } from './store-option.js';

export function registerNarinfoCommands(key: Command, ctx: CliContext): void {
  key
    .command('public')
    .description('print the public key of a secret key file (like nix key convert-secret-to-public)')
    .requiredOption('--key <file>', 'secret key file')
    .option('--json', 'print JSON')
    .action(async (opts: { key: string; json?: boolean }) => {
      const { readText } = await import('./files.js');
      const { parseSecretKey, toPublicKey, formatPublicKey } = await import('../src/signing/keys.js');
      const pub = formatPublicKey(toPublicKey(parseSecretKey(await readText(opts.key, 'secret key file'))));
      emit(ctx.io, opts, { publicKey: pub }, (r) => r.publicKey);
    });

  key
    .command('sign-narinfo')
    .description('add a Sig: line to a narinfo file for each --key (fingerprint exactly as Nix computes it)')
    .argument('<file>', 'narinfo file')
    .requiredOption('--key <file>', 'secret key file (repeatable: one signature per key)', collect)
    .option('--out <file>', 'write the signed narinfo here (new file) instead of stdout')
    .option('--in-place', 'replace FILE atomically')
    .option('--store-dir <dir>', 'Nix store directory', '/nix/store')
    .option('--state <dir>', 'also refuse keys this inventory has revoked')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { key: string[]; out?: string; inPlace?: boolean; storeDir: string; state?: string; store?: string; json?: boolean }) => {
      if (opts.out && opts.inPlace) throw new CliError('usage', 'give --out or --in-place, not both');
      const { readText, writeFileAtomic, writeNewFile } = await import('./files.js');
      const { parseSecretKey, toPublicKey } = await import('../src/signing/keys.js');
      const { parseNarInfo, serializeNarInfo, signNarInfo } = await import('../src/signing/narinfo.js');
      const keys = [];
      for (const k of opts.key) keys.push(parseSecretKey(await readText(k, 'secret key file')));
      if (opts.state || opts.store) {
        const { checkNotRevoked } = await import('../src/signing/rotation.js');
        const data = await readInventory(ctx, opts);
        for (const k of keys) checkNotRevoked(data, toPublicKey(k));
      }
      const info = parseNarInfo(await readText(file, 'narinfo'), { storeDir: opts.storeDir, what: file });
      const { narinfo, added } = signNarInfo(info, keys, opts.storeDir);
      const text = serializeNarInfo(narinfo);
      if (opts.inPlace) {
        const { stat } = await import('node:fs/promises');
        await writeFileAtomic(file, text, (await stat(file)).mode & 0o777); // keep the cache file's mode
      }
      else if (opts.out) await writeNewFile(opts.out, text, 0o644);
      const written = opts.inPlace ? file : (opts.out ?? null);
      if (!written) {
        emit(ctx.io, opts, { storePath: narinfo.storePath, added, narinfo: text }, (r) => r.narinfo.replace(/\n$/, ''));
      } else {
        emit(ctx.io, opts, { storePath: narinfo.storePath, added, out: written }, (r) =>
          `${r.added.length ? `added ${r.added.map((s) => s.slice(0, s.indexOf(':'))).join(', ')}` : 'already signed by every key'}; wrote ${r.out}`,
        );
      }
    });

  key
    .command('verify-narinfo')
    .description('check which Sig: lines of a narinfo are valid under which trusted keys (by key name, as Nix does); exit 1 if none')
    .argument('<file>', 'narinfo file')
    .option('--trusted <keys>', 'trusted public keys, whitespace-separated "name:base64" (repeatable)', collect)
    .option('--trusted-file <file>', 'file with whitespace-separated trusted public keys')
    .option('--node <node>', "trust what the inventory publishes for this node's cache (next, active, retiring; own and shared)")
    .option('--store-dir <dir>', 'Nix store directory', '/nix/store')
    .option('--state <dir>', STATE_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { trusted?: string[]; trustedFile?: string; node?: string; storeDir: string; state?: string; json?: boolean }) => {
      const { readText } = await import('./files.js');
      const { parsePublicKeyList } = await import('../src/signing/keys.js');
      const { parseNarInfo, verifyNarInfo } = await import('../src/signing/narinfo.js');
      const { SigningError } = await import('../src/signing/errors.js');
      const list = [...(opts.trusted ?? [])];
      if (opts.trustedFile) list.push(await readText(opts.trustedFile, 'trusted keys file'));
      if (opts.node) {
        const { getNode } = await import('../src/inventory/inventory.js');
        const { publishedKeysFor } = await import('../src/inventory/signing-keys.js');
        const data = await readInventory(ctx, opts);
        getNode(data, opts.node);
        list.push(...publishedKeysFor(data, opts.node));
      }
      const trusted = parsePublicKeyList(list.join(' '));
      if (trusted.length === 0) throw new CliError('usage', 'give the trusted public keys with --trusted "name:base64 …", --trusted-file FILE or --node NODE (with published keys)');
      const info = parseNarInfo(await readText(file, 'narinfo'), { storeDir: opts.storeDir, what: file });
      const v = verifyNarInfo(info, trusted, opts.storeDir);
      emit(ctx.io, opts, v, (r) =>
        [
          `${r.storePath}: ${r.validCount} valid signature${r.validCount === 1 ? '' : 's'} of ${r.signatures.length}`,
          ...r.signatures.map((s) => `  ${s.verdict.padEnd(18)} ${s.keyName ?? s.sig.slice(0, 40)}${s.trustedKey ? ` (trusted key ${s.trustedKey})` : ''}`),
        ].join('\n'),
      );
      if (v.validCount === 0) {
        throw new SigningError('SIGNING_NO_VALID_SIGNATURE', `${file}: no signature is valid under the trusted keys (${trusted.map((k) => k.name).join(', ')})`);
      }
    });
}
