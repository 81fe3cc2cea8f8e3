// The one place that prepares @peculiar/x509: its DI container needs the Reflect polyfill, and
// it must use Node's WebCrypto. Every src/ca module imports x509 from here, never directly.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const crypto = webcrypto as unknown as Crypto;
