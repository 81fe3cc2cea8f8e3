// CPU cost of the pieces of one issuance, each timed in isolation with the project's own functions
// (process.cpuUsage over many serial calls, so thread-pool work of WebCrypto is included). Used to
// explain the end-to-end figure of `npm run bench` and to size proposed optimisations: rows marked
// "alternative" are NOT what the issuer does; they show what a change would cost instead.
//   node dist/bench/micro.js [--n 2000]
import { createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import acme from 'acme-client';
import { base64url, calculateJwkThumbprint, flattenedVerify, importJWK, type JWK } from 'jose';
import { verifyAcmeJws } from '../src/acme/jws.js';
import { checkCsr, jwkSpki } from '../src/acme/csr.js';
import { keyAuthorization } from '../src/acme/challenges.js';
import { createRoot } from '../src/ca/root.js';
import { issueLeaf } from '../src/ca/leaf.js';
import { createLeafTemplate } from '../src/ca/leaf-template.js';
import { generateKeyPair } from '../src/ca/keys.js';
import { randomSerial } from '../src/ca/serial.js';
import { openAcmeStore } from '../src/store/acme.js';
import { openInventoryStore } from '../src/store/inventory.js';
import { x509 } from '../src/ca/x509.js';
import { appendAudit, loadOrCreateAuditKey } from '../src/audit/log.js';

const { values: opt } = parseArgs({ options: { n: { type: 'string', default: '2000' } } });
const N = Number(opt.n);

async function time(name: string, fn: () => unknown, n = N): Promise<void> {
  for (let i = 0; i < Math.min(200, n); i++) await fn();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const c = process.cpuUsage(c0);
  console.log(`${((c.user + c.system) / 1000 / n).toFixed(3).padStart(7)} CPU-ms  ${name}`);
}

// A JWS as acme-client sends it (ES256, kid), signed with node:crypto.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const full = publicKey.export({ format: 'jwk' }) as JWK;
const jwk: JWK = { kty: 'EC', crv: full.crv, x: full.x, y: full.y };
const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
const url = 'https://localhost:16443/order/abc';
const makeJws = (nonce: string) => {
  const prot = base64url.encode(JSON.stringify({ alg: 'ES256', kid: 'https://localhost:16443/account/x', nonce, url }));
  const payload = '';
  const signature = cryptoSign('sha256', Buffer.from(`${prot}.${payload}`), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return { protected: prot, payload, signature };
};
const jws = makeJws('n');
const joseKey = await importJWK(jwk, 'ES256');
const opts = { url, key: 'kid' as const, redeemNonce: () => 'ok' as const, accountKey: async () => ({ jwk, thumbprint }) };
console.log(`each row: CPU per call, ${N} serial calls (Node ${process.version})\n`);
console.log('JWS (every POST; ~8 per issuance):');
await time('verifyAcmeJws (node:crypto verify, KeyObject cached)', () => verifyAcmeJws(jws, opts));
await time('reference: jose flattenedVerify with an imported key (what verifyAcmeJws used before)', async () => flattenedVerify(jws, joseKey, { algorithms: ['ES256'] }));
const keyObjects = new Map<string, KeyObject>();
await time('floor: node:crypto verify alone with a cached KeyObject', () => {
  let ko = keyObjects.get(thumbprint);
  if (!ko) keyObjects.set(thumbprint, (ko = createPublicKey({ key: jwk, format: 'jwk' })));
  return cryptoVerify('sha256', Buffer.from(`${jws.protected}.${jws.payload}`), { key: ko, dsaEncoding: 'ieee-p1363' }, Buffer.from(jws.signature, 'base64url'));
});
console.log('\nhttp-01 (once per issuance):');
await time('jose calculateJwkThumbprint (what keyAuthorization computed per validation before it used the stored thumbprint)', () => calculateJwkThumbprint(jwk, 'sha256'));
await time("keyAuthorization: token + '.' + the account's stored thumbprint", () => keyAuthorization('tok', thumbprint));

console.log('\nfinalize (once per issuance):');
const certKey = await acme.crypto.createPrivateEcdsaKey('P-256');
const [, csrPem] = await acme.crypto.createCsr({ altNames: ['a.bench.n3x.internal'] }, certKey);
const csrB64 = Buffer.from(csrPem.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64url');
const accountSpki = jwkSpki(jwk);
await time('jwkSpki(account jwk) (node:crypto, not cached)', () => jwkSpki(jwk));
await time('checkCsr (asn1-csr parse, key policy, node:crypto signature check)', () => checkCsr(csrB64, ['a.bench.n3x.internal'], accountSpki, async () => false));
const root = await createRoot({ commonName: 'micro root', permittedDns: ['n3x.internal'], keyAlgorithm: 'ECDSA-P256', validityDays: 30 });
const leafKeys = await generateKeyPair('ECDSA-P256');
const leafPub = await x509.PublicKey.create(leafKeys.publicKey);
const issuer = { certificate: root.certificate, privateKey: root.keys.privateKey };
const nb = new Date(Date.now() - 300_000);
const na = new Date(Date.now() + 7 * 86_400_000);
let lastPem = '';
await time('issueLeaf (@peculiar/x509 build + WebCrypto ECDSA sign) + PEM', async () => {
  lastPem = (await issueLeaf(issuer, { publicKey: leafPub, dnsNames: ['a.bench.n3x.internal'], notBefore: nb, notAfter: na })).toString('pem');
}, Math.min(N, 1000));
const template = await createLeafTemplate(issuer);
const leafSpki = new Uint8Array(leafPub.rawData);
await time('leaf template: serial, validity, SPKI, SKI, SAN + node:crypto ECDSA sign + PEM (what serve uses)', () =>
  template.issue({ spki: leafSpki, dnsNames: ['a.bench.n3x.internal'], notBefore: nb, notAfter: na, crlDistributionPoints: ['https://localhost:16443/crl'] }).pem);
await time('node X509Certificate parse + SAN + SPKI export (checkIssued part)', () => {
  const c = new X509Certificate(lastPem);
  return [c.subjectAltName, c.validFrom, c.validTo, c.publicKey.export({ format: 'der', type: 'spki' })];
});

console.log('\nstate (several per issuance):');
const dir = mkdtempSync(join(tmpdir(), 'nixca-micro-'));
try {
  const inv = await openInventoryStore(dir);
  await inv.update(() => undefined);
  await time('inventory.read() (one stat when unchanged)', () => inv.read());
  const store = await openAcmeStore(dir);
  const pem = lastPem + root.certificate.toString('pem');
  await time('store.putCertificate (chain + record appended, 2 fdatasync)', () =>
    store.putCertificate({ serial: randomSerial(), accountId: 'a', node: 'bench', names: ['a.bench.n3x.internal'], notBefore: nb.toISOString(), notAfter: na.toISOString(), orderId: randomBytes(16).toString('base64url'), issuedAt: new Date().toISOString(), spkiSha256: 'ab'.repeat(32) }, pem), Math.min(N, 500));
  await store.close();
  console.log('\naudit (once per issuance: certificate.issued):');
  await loadOrCreateAuditKey(dir);
  await time('loadOrCreateAuditKey (read + import the key PEM; done on every append)', () => loadOrCreateAuditKey(dir), Math.min(N, 500));
  let i = 0;
  await time('appendAudit(certificate.issued): lock, key, tail, verify last, sign, write, fsync', () =>
    appendAudit(dir, { type: 'certificate.issued', subject: `serial:${(i++).toString(16)}`, node: 'bench', details: { names: ['a.bench.n3x.internal'] } }), Math.min(N, 300));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

