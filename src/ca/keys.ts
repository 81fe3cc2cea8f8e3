// Private keys: generation (WebCrypto), encryption at rest (PKCS#8 PBES2 via node:crypto, which
// OpenSSL reads), and the signature algorithm that goes with each key type.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CaError } from './errors.js';
import { passphraseOpensFirstBlock } from './pbes2.js';
import { crypto } from './x509.js';

export type KeyAlgorithm = 'ECDSA-P256' | 'ECDSA-P384' | 'Ed25519' | 'RSA-2048' | 'RSA-3072' | 'RSA-4096';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ECDSA-P256', 'ECDSA-P384', 'Ed25519', 'RSA-2048', 'RSA-3072', 'RSA-4096'];

/** Passphrases guard offline CA keys; 12 characters is the floor we accept for a new key. */
export const MIN_PASSPHRASE_LENGTH = 12;

function generationParams(alg: KeyAlgorithm): EcKeyGenParams | RsaHashedKeyGenParams | Algorithm {
  switch (alg) {
    case 'ECDSA-P256': return { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyGenParams;
    case 'ECDSA-P384': return { name: 'ECDSA', namedCurve: 'P-384' } as EcKeyGenParams;
    case 'Ed25519': return { name: 'Ed25519' };
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(alg.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      } as RsaHashedKeyGenParams;
  }
}

export async function generateKeyPair(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(generationParams(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** The X.509 signature algorithm for a key: ECDSA's hash follows the curve (RFC 5758 §3.2). */
export function signingAlgorithm(key: CryptoKey): Algorithm {
  const a = key.algorithm as EcKeyAlgorithm & RsaHashedKeyAlgorithm;
  switch (a.name) {
    case 'ECDSA':
      return { name: 'ECDSA', hash: a.namedCurve === 'P-384' ? 'SHA-384' : a.namedCurve === 'P-521' ? 'SHA-512' : 'SHA-256' } as EcdsaParams;
    case 'Ed25519':
      return { name: 'Ed25519' };
    case 'RSASSA-PKCS1-v1_5':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams;
    default:
      throw new CaError('CA_KEY_UNSUPPORTED', `unsupported key algorithm ${a.name}`);
  }
}

/** WebCrypto import parameters for a node:crypto KeyObject (Node 20 has no KeyObject.toCryptoKey). */
function importParams(k: KeyObject): EcKeyImportParams | RsaHashedImportParams | Algorithm {
  switch (k.asymmetricKeyType) {
    case 'ec': {
      const curve = k.asymmetricKeyDetails?.namedCurve;
      const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
      if (!namedCurve) throw new CaError('CA_KEY_UNSUPPORTED', `unsupported EC curve ${curve}`);
      return { name: 'ECDSA', namedCurve } as EcKeyImportParams;
    }
    case 'ed25519':
      return { name: 'Ed25519' };
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams;
    default:
      throw new CaError('CA_KEY_UNSUPPORTED', `unsupported key type ${k.asymmetricKeyType}`);
  }
}

export async function keyObjectToCryptoKeyPair(privateKey: KeyObject): Promise<CryptoKeyPair> {
  const params = importParams(privateKey);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const [priv, pub] = await Promise.all([
    crypto.subtle.importKey('pkcs8', pkcs8, params, true, ['sign']),
    crypto.subtle.importKey('spki', spki, params, true, ['verify']),
  ]);
  return { privateKey: priv, publicKey: pub };
}

/**
 * Encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY", PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC,
 * RFC 8018), the format `openssl pkey -passin` opens.
 */
export async function encryptPrivateKey(privateKey: CryptoKey, passphrase: string): Promise<string> {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new CaError('CA_PASSPHRASE_WEAK', `passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', privateKey));
  const ko = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return ko.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase }) as string;
}

/**
 * Opens an encrypted PKCS#8 PEM. A wrong passphrase is CA_PASSPHRASE_WRONG; a damaged file is
 * CA_PEM_INVALID and says "corrupted". PBES2 has no integrity check, so when OpenSSL refuses the key
 * the verdict comes from the first cipher block (src/ca/pbes2.ts); only damage to that block looks
 * like a wrong passphrase, and the message says so.
 */
export async function decryptPrivateKey(pem: string, passphrase: string): Promise<CryptoKeyPair> {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new CaError('CA_PEM_INVALID', 'not an encrypted PKCS#8 private key (expected "BEGIN ENCRYPTED PRIVATE KEY")');
  }
  let ko: KeyObject;
  try {
    ko = createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch (err) {
    const e = err as Error & { code?: string };
    const opens = passphraseOpensFirstBlock(pem, passphrase);
    const badDecrypt = e.code === 'ERR_OSSL_BAD_DECRYPT' || /bad decrypt/i.test(e.message);
    if (opens === false || (opens === undefined && badDecrypt)) {
      throw new CaError('CA_PASSPHRASE_WRONG', 'wrong passphrase for the encrypted private key (or its first bytes are damaged)', { cause: err });
    }
    throw new CaError('CA_PEM_INVALID', `the encrypted private key is corrupted (${e.message}); restore it from a backup`, { cause: err });
  }
  try {
    return await keyObjectToCryptoKeyPair(ko);
  } catch (err) {
    // Damage inside the ciphertext can decrypt to a PKCS#8 structure OpenSSL still parses but whose
    // key WebCrypto refuses (e.g. a private scalar that does not match the embedded public point).
    if (passphraseOpensFirstBlock(pem, passphrase) === false) {
      throw new CaError('CA_PASSPHRASE_WRONG', 'wrong passphrase for the encrypted private key (or its first bytes are damaged)', { cause: err });
    }
    throw new CaError('CA_PEM_INVALID', `the encrypted private key is corrupted (${(err as Error).message}); restore it from a backup`, { cause: err });
  }
}

/** Reads an unencrypted PKCS#8 PEM (ephemeral keys only: the issuer's own TLS key, test fixtures). */
export async function importPrivateKeyPem(pem: string): Promise<CryptoKeyPair> {
  try {
    return await keyObjectToCryptoKeyPair(createPrivateKey({ key: pem, format: 'pem' }));
  } catch (err) {
    if (err instanceof CaError) throw err;
    throw new CaError('CA_PEM_INVALID', `cannot read the private key: ${(err as Error).message}`, { cause: err });
  }
}

export async function exportPrivateKeyPem(privateKey: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', privateKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** SPKI DER of a public key: the stable identity used to compare keys (CSR vs account key, cert vs key). */
export async function spkiOf(publicKey: CryptoKey): Promise<Buffer> {
  return Buffer.from(await crypto.subtle.exportKey('spki', publicKey));
}
