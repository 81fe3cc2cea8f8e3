// Seeds a state directory's ACME store with K certificate records and K/10 accounts, quickly and
// through the store's own API (src/store/acme.ts openAcmeStore → createAccount / putCertificate),
// so the seeded files are exactly what the issuer itself writes. No ACME flows are run.
//
//   node dist/bench/seed.js --state DIR --certs 50000 [--accounts N] [--node bench] [--suffix S]
//
// What is real and what is not: every account has a real P-256 public key and its RFC 7638
// thumbprint; every certificate record has a unique random 128-bit serial, a unique name under the
// suffix, and issue/expiry times spread over the last 30 days with the issuer's 7-day lifetime (so
// about three quarters are already expired, like a fleet that has been renewing for a month). The
// chain stored with each record is one real leaf+intermediate chain (signed once, by a throw-away
// CA, with the same profile the issuer uses) reused for every record: it has the right size,
// which is what the store's cost depends on, but it is not the certificate of that serial.
// Each certificate gets its certificate.issued audit entry, as an issuance writes it, in issuance
// order: without them the issuer's first start would write 50,000 recovered entries (a one-time
// cost of a store that lost its audit log, with a peak RSS of ~380 MB) instead of starting as a
// fleet's issuer does.
import { generateKeyPairSync, randomBytes, createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { openAcmeStore } from '../src/store/acme.js';
import { appendAudit } from '../src/audit/log.js';
import { issuedEvent } from '../src/audit/acme-events.js';
import type { AccountRecord, CertificateRecord } from '../src/acme/model.js';
import type { AcmeStoreStats } from '../src/acme/store.js';
import { createRoot } from '../src/ca/root.js';
import { issueLeaf } from '../src/ca/leaf.js';
import { generateKeyPair } from '../src/ca/keys.js';
import { randomSerial } from '../src/ca/serial.js';

export interface SeedOptions {
  stateDir: string;
  certs: number;
  accounts?: number;
  node?: string;
  suffix?: string;
  /** Records put concurrently: the store group-commits them into one write + fdatasync. */
  batch?: number;
  now?: Date;
}

export interface SeedResult {
  certificates: number;
  accounts: number;
  ms: number;
  stats: AcmeStoreStats;
}

const DAY = 86_400_000;
const newId = () => randomBytes(16).toString('base64url');

/** One real chain of the issuer's size (leaf + intermediate PEM), signed once. */
async function templateChain(suffix: string): Promise<string> {
  const now = new Date();
  const root = await createRoot({ commonName: 'nixca bench seed root (throw-away)', permittedDns: [suffix], keyAlgorithm: 'ECDSA-P256', validityDays: 30, now });
  const leafKeys = await generateKeyPair('ECDSA-P256');
  const leaf = await issueLeaf(
    { certificate: root.certificate, privateKey: root.keys.privateKey },
    { publicKey: leafKeys.publicKey, dnsNames: [`seed-template.${suffix}`], notBefore: new Date(now.getTime() - 300_000), notAfter: new Date(now.getTime() + 7 * DAY) },
  );
  return leaf.toString('pem') + '\n' + root.certificate.toString('pem') + '\n';
}

export async function seedStore(o: SeedOptions): Promise<SeedResult> {
  const t0 = performance.now();
  const node = o.node ?? 'bench';
  const suffix = o.suffix ?? 'bench.n3x.internal';
  const nAccounts = Math.max(1, o.accounts ?? Math.ceil(o.certs / 10));
  const batch = o.batch ?? 2000;
  const now = o.now ?? new Date();
  const chain = await templateChain(suffix);
  const store = await openAcmeStore(o.stateDir);
  try {
    const accountIds: string[] = [];
    for (let i = 0; i < nAccounts; i += batch) {
      const puts: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(nAccounts, i + batch); j++) {
        const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const full = publicKey.export({ format: 'jwk' }) as JWK;
        const jwk: JWK = { kty: 'EC', crv: full.crv, x: full.x, y: full.y };
        const at = new Date(now.getTime() - Math.random() * 30 * DAY).toISOString();
        const account: AccountRecord = {
          id: newId(),
          status: 'valid',
          jwk,
          thumbprint: await calculateJwkThumbprint(jwk, 'sha256'),
          contact: [],
          node,
          eabKeyId: null,
          externalAccountBinding: null,
          createdAt: at,
          updatedAt: at,
        };
        accountIds.push(account.id);
        puts.push(store.createAccount(account));
      }
      await Promise.all(puts);
    }
    for (let i = 0; i < o.certs; i += batch) {
      const puts: Promise<unknown>[] = [];
      const certs: CertificateRecord[] = [];
      for (let j = i; j < Math.min(o.certs, i + batch); j++) {
        // Spread over the last 30 days, in ledger order (as issuances are appended).
        const issued = now.getTime() - 30 * DAY * (1 - (j + Math.random()) / o.certs);
        const cert: CertificateRecord = {
          serial: randomSerial(),
          accountId: accountIds[j % accountIds.length]!,
          node,
          names: [`seed-${j}.${suffix}`],
          notBefore: new Date(issued - 300_000).toISOString(),
          notAfter: new Date(issued + 7 * DAY).toISOString(),
          orderId: newId(),
          issuedAt: new Date(issued).toISOString(),
          spkiSha256: createHash('sha256').update(randomBytes(32)).digest('hex'),
          akiKeyId: 'ab'.repeat(20),
        };
        certs.push(cert);
        puts.push(store.putCertificate(cert, chain));
      }
      await Promise.all(puts);
      await appendAudit(o.stateDir, certs.map(issuedEvent));
    }
    const stats = store.stats();
    return { certificates: o.certs, accounts: nAccounts, ms: Math.round(performance.now() - t0), stats };
  } finally {
    await store.close();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const { values } = parseArgs({
    options: {
      state: { type: 'string' },
      certs: { type: 'string', default: '50000' },
      accounts: { type: 'string' },
      node: { type: 'string', default: 'bench' },
      suffix: { type: 'string', default: 'bench.n3x.internal' },
    },
  });
  if (!values.state) {
    console.error('usage: node dist/bench/seed.js --state DIR [--certs 50000] [--accounts N] [--node bench] [--suffix S]');
    process.exit(2);
  }
  const r = await seedStore({ stateDir: values.state, certs: Number(values.certs), accounts: values.accounts ? Number(values.accounts) : undefined, node: values.node, suffix: values.suffix });
  console.log(JSON.stringify(r));
}
