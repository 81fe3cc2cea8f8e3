// Orders (RFC 8555 §7.4): creation under policy, finalization, issuance through a LeafSigner.
import type { x509 } from '../ca/x509.js';

/**
 * All the ACME core needs from a CA (the consumer owns the narrow interface; cli wires
 * src/ca/leaf.ts issueLeaf to it). The core has verified the CSR (signature, names, key strength)
 * before calling; the signer only signs.
 */
export interface LeafSigner {
  signLeaf(req: {
    /** DER of the CSR, already verified by the core. */
    csrDer: Uint8Array;
    publicKey: CryptoKey | x509.PublicKey;
    dnsNames: readonly string[];
    notBefore: Date;
    notAfter: Date;
  }): Promise<{
    /** Lowercase hex. */
    serial: string;
    certificatePem: string;
    /** Leaf + intermediate, PEM. */
    chainPem: string;
    notBefore: Date;
    notAfter: Date;
  }>;
}
