// tls-alpn-01 validation (RFC 8737 §3): the issuer opens TLS to <address>:<port> with SNI = the
// identifier and ALPN offering only "acme-tls/1", then checks the self-signed certificate the
// client presents: exactly one SAN, a dNSName equal to the identifier, and a critical
// id-pe-acmeIdentifier extension whose value is an OCTET STRING of SHA-256(key authorization).
// Certificate and extension are parsed with @peculiar/x509 / asn1-schema, never by hand.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { x509 } from '../ca/x509.js';
import { describeNetworkError, type AttemptResult } from './http-01.js';

/** RFC 8737 §6.1: the ALPN protocol ID. */
export const ACME_TLS_ALPN = 'acme-tls/1';
/** RFC 8737 §6.2: id-pe-acmeIdentifier. */
export const ID_PE_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';

export interface TlsAlpn01Params {
  identifier: string;
  keyAuthorization: string;
  address: string;
  port: number;
  timeoutMs: number;
  /** The core gives up (shutdown, challenge no longer wanted): the attempt ends at once. */
  signal?: AbortSignal;
}

/** SHA-256 of the key authorization: what the acmeIdentifier extension must carry (RFC 8737 §3). */
export function acmeIdentifierDigest(keyAuthorization: string): Buffer {
  return createHash('sha256').update(keyAuthorization, 'utf8').digest();
}

/** Checks the validation certificate; returns a reason when it does not prove control, else null. */
export function checkAcmeTlsCertificate(der: Uint8Array, identifier: string, keyAuthorization: string): string | null {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch (err) {
    return `the certificate cannot be parsed: ${(err as Error).message}`;
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return 'the certificate has no subjectAltName extension';
  const entries = san.names.items;
  // §3: "contain a subjectAltName extension containing the dNSName being validated and no other entries".
  if (entries.length !== 1) return `the certificate's subjectAltName has ${entries.length} entries; exactly one (dNSName ${identifier}) is required`;
  const only = entries[0]!;
  if (only.type !== 'dns') return `the certificate's subjectAltName entry is of type ${only.type}, not a dNSName`;
  if (only.value.toLowerCase() !== identifier.toLowerCase()) return `the certificate's dNSName is ${only.value}, not ${identifier}`;
  const exts = cert.extensions.filter((e) => e.type === ID_PE_ACME_IDENTIFIER);
  if (exts.length !== 1) return exts.length === 0 ? 'the certificate has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)' : 'the certificate has more than one acmeIdentifier extension';
  const ext = exts[0]!;
  // §3: "The acmeIdentifier extension MUST be critical".
  if (!ext.critical) return 'the acmeIdentifier extension is not marked critical';
  let value: OctetString;
  try {
    value = AsnConvert.parse(ext.value, OctetString);
  } catch {
    return 'the acmeIdentifier extension is not a DER OCTET STRING';
  }
  const got = Buffer.from(value.buffer);
  const want = acmeIdentifierDigest(keyAuthorization);
  if (got.length !== want.length || !got.equals(want)) return 'the acmeIdentifier extension does not hold SHA-256 of the expected key authorization';
  return null;
}

/** One tls-alpn-01 attempt against one address. */
export function validateTlsAlpn01(p: TlsAlpn01Params): Promise<AttemptResult> {
  const target = isIP(p.address) === 6 ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
  return new Promise((resolve) => {
    let done = false;
    // eslint-disable-next-line prefer-const -- assigned after `finish` (which closes over it) is defined
    let socket: TLSSocket | undefined;
    const finish = (r: AttemptResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      p.signal?.removeEventListener('abort', cancel);
      socket?.destroy();
      resolve(r);
    };
    const cancel = () => finish({ ok: false, type: 'connection', detail: `validation of ${p.identifier} was cancelled`, retryable: false });
    p.signal?.addEventListener('abort', cancel, { once: true });
    const timer = setTimeout(() => finish({ ok: false, type: 'connection', detail: `${target}: timed out after ${p.timeoutMs} ms (TLS handshake for ${p.identifier})`, retryable: true }), p.timeoutMs);
    let tcpConnected = false;
    socket = connect({
      host: p.address,
      port: p.port,
      // SNI carries the identifier (§3); an IP identifier would need the reverse name (RFC 8738 §6),
      // but the policy issues DNS names only.
      servername: p.identifier,
      ALPNProtocols: [ACME_TLS_ALPN],
      minVersion: 'TLSv1.2',
      // The certificate is self-signed by design; it is checked below, not against a trust store.
      rejectUnauthorized: false,
    });
    socket.once('connect', () => {
      tcpConnected = true;
    });
    socket.once('secureConnect', () => {
      const s = socket!;
      if (s.alpnProtocol !== ACME_TLS_ALPN) {
        finish({ ok: false, type: 'tls', detail: `${target} did not negotiate ALPN ${ACME_TLS_ALPN} for ${p.identifier} (got ${s.alpnProtocol || 'none'})`, retryable: false });
        return;
      }
      const peer = s.getPeerX509Certificate();
      if (!peer) {
        finish({ ok: false, type: 'tls', detail: `${target} presented no certificate`, retryable: false });
        return;
      }
      const why = checkAcmeTlsCertificate(peer.raw, p.identifier, p.keyAuthorization);
      if (why) finish({ ok: false, type: 'incorrectResponse', detail: `tls-alpn-01 for ${p.identifier} at ${target}: ${why}`, retryable: false });
      else finish({ ok: true, address: p.address });
    });
    // `on`, not `once`: a second error after the first must not become an uncaught exception.
    socket.on('error', (err) => {
      // After TCP connected, a failure is a TLS-level one (alert, e.g. no_application_protocol).
      if (tcpConnected) finish({ ok: false, type: 'tls', detail: `TLS handshake with ${target} for ${p.identifier} failed: ${err.message}`, retryable: false });
      else finish(describeNetworkError(err, `connecting to ${target}`));
    });
  });
}
