// Where passphrases come from: a file, a systemd credential, or a no-echo prompt. Never argv,
// never an environment variable (both are visible to other processes).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.js';
import { exists, readText } from './files.js';
import type { Io } from './io.js';

/** systemd credential names (LoadCredential=NAME:PATH) of the keys' passphrases. */
export const ROOT_PASSPHRASE_CREDENTIAL = 'nixca-root-passphrase';
export const NEW_ROOT_PASSPHRASE_CREDENTIAL = 'nixca-new-root-passphrase';
export const ISSUER_PASSPHRASE_CREDENTIAL = 'nixca-intermediate-passphrase';

export interface PassphraseSource {
  /** --passphrase-file */
  file?: string;
  /** Name under $CREDENTIALS_DIRECTORY (systemd LoadCredential=NAME:PATH). */
  credential: string;
  /** Ask twice at the prompt (when creating a key). */
  confirm: boolean;
  /** What it unlocks, for the prompt and errors: "root key". */
  purpose: string;
}

/** A passphrase file may end with one newline (as `echo` writes it); that newline is not part of it. */
function stripNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}

/** The global flag that accepts a passphrase file other users can read (named for the risk it takes). */
export const ALLOW_INSECURE_PASSPHRASE_FILE = '--allow-insecure-passphrase-file';

/**
 * A secret file that group or others may read hands its secret to them (as ssh refuses an
 * unprotected private key): refused unless the operator said so with the flag above. Used for
 * passphrase files and the database password file (--store-password-file), which opens the store.
 */
export function checkSecretFileMode(io: Io, file: string, what: { name: string; risk: string }): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return; // unreadable: whoever reads it says why
  }
  if ((mode & 0o077) === 0 || io.allowInsecurePassphraseFile) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  throw new CliError('io', `${what.name} ${file} is readable or writable by group or others (mode ${octal}): chmod 600 it, or give ${ALLOW_INSECURE_PASSPHRASE_FILE} to accept that other users can read ${what.risk}`);
}

export async function getPassphrase(io: Io, src: PassphraseSource): Promise<string> {
  if (src.file) {
    checkSecretFileMode(io, src.file, { name: 'passphrase file', risk: "the key's passphrase" });
    const p = stripNewline(await readText(src.file, 'passphrase file'));
    if (!p) throw new CliError('input', `passphrase file ${src.file} is empty`);
    return p;
  }
  const credDir = io.env.CREDENTIALS_DIRECTORY;
  if (credDir && (await exists(join(credDir, src.credential)))) {
    const p = stripNewline(await readText(join(credDir, src.credential), 'credential'));
    if (!p) throw new CliError('input', `credential ${src.credential} is empty`);
    return p;
  }
  if (!io.interactive) {
    throw new CliError('usage', `no passphrase for the ${src.purpose}: give --passphrase-file FILE, a systemd credential "${src.credential}", or run in a terminal`);
  }
  const first = await io.promptSecret(`Passphrase for the ${src.purpose}: `);
  if (src.confirm) {
    const second = await io.promptSecret(`Repeat the passphrase for the ${src.purpose}: `);
    if (first !== second) throw new CliError('input', 'the two passphrases differ');
  }
  if (!first) throw new CliError('input', 'empty passphrase');
  return first;
}
