// One root directory per test file, copied for each scenario (key generation and passphrase
// hashing are the slow part), a CSR, and a passphrase source that counts how often it is asked.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createIntermediateRequest } from '../../src/ca/intermediate.js';
import { initRoot } from '../../src/ceremony/init.js';
import type { SecretSource } from '../../src/ceremony/root-dir.js';
import { tempDir } from '../helpers/cli.js';

export const ROOT_PASS = 'correct horse battery staple';

export interface Counting {
  source: SecretSource;
  ask: () => Promise<string>;
  calls: number;
}

export function countingPassphrase(passphrase = ROOT_PASS): Counting {
  const ask = async () => {
    c.calls++;
    return passphrase;
  };
  const c: Counting = { calls: 0, ask, source: { passphrase: ask } };
  return c;
}

export interface Fixture {
  base: string;
  /** A fresh copy of the prepared root directory. */
  root(name: string): Promise<string>;
  csr: string;
  passFile: string;
}

export async function fixture(t: { after(fn: () => unknown): void }): Promise<Fixture> {
  const base = await tempDir(t);
  const template = join(base, 'template');
  await initRoot({ dir: template, name: 'n3x Internal Root CA', permitDns: ['n3x.internal'], passphrase: async () => ROOT_PASS });
  const { csr } = await createIntermediateRequest({ commonName: 'n3x Issuing CA 1', keyAlgorithm: 'ECDSA-P256' });
  const csrPath = join(base, 'intermediate.csr.pem');
  await writeFile(csrPath, csr.toString('pem'));
  const passFile = join(base, 'pass');
  await writeFile(passFile, ROOT_PASS, { mode: 0o600 });
  await mkdir(join(base, 'out'));
  return {
    base,
    csr: csrPath,
    passFile,
    root: async (name) => {
      const dir = join(base, name);
      await cp(template, dir, { recursive: true });
      return dir;
    },
  };
}
