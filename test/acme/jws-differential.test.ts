// Differential test: the node:crypto signature check (src/acme/jws-signature.ts via verifySignature)
// against jose's flattenedVerify, verdict for verdict, on 10,000 generated good and bad JWS. Both
// sides share the ACME structural checks (parseFlattenedJws, publicJwk); what differs is only the
// signature step, its base64url decoding and its key handling, which is what jose is replaced for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { base64url, exportJWK, flattenedVerify, FlattenedSign, importJWK, type FlattenedJWS, type JWK } from 'jose';
import { parseFlattenedJws, publicJwk, verifySignature } from '../../src/acme/jws.js';
import { prng } from '../helpers/prng.js';

type Alg = 'ES256' | 'ES384' | 'EdDSA' | 'RS256';
interface Signer { alg: Alg; priv: KeyObject; jwk: JWK; josePriv: Awaited<ReturnType<typeof importJWK>> }

const N = 10_000;


async function signer(alg: Alg): Promise<Signer> {
  const pair =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : alg === 'ES384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : alg === 'EdDSA' ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { alg, priv: pair.privateKey, jwk: await exportJWK(pair.publicKey), josePriv: await importJWK(await exportJWK(pair.privateKey), alg) };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function mutateChar(s: string, r: () => number): string {
  if (!s.length) return 'A';
  const i = Math.floor(r() * s.length);
  let c = B64[Math.floor(r() * 64)]!;
  if (c === s[i]) c = c === 'A' ? 'B' : 'A';
  return s.slice(0, i) + c + s.slice(i + 1);
}

/** The ECDSA signature with S replaced by n - S (the other valid signature of the same pair). */
function highS(sig: Uint8Array, alg: Alg): Uint8Array {
  const order = alg === 'ES256'
    ? 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
    : 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
  const half = sig.length / 2;
  const s = BigInt('0x' + Buffer.from(sig.subarray(half)).toString('hex'));
  const flipped = (order - s).toString(16).padStart(half * 2, '0');
  return Uint8Array.from([...sig.subarray(0, half), ...Buffer.from(flipped, 'hex')]);
}

async function goodJws(s: Signer, payload: string, r: () => number): Promise<FlattenedJWS> {
  const header: Record<string, unknown> = { alg: s.alg, nonce: base64url.encode(String(r())), url: 'https://acme.test/new-order', kid: 'https://acme.test/acct/1' };
  const jws = await new FlattenedSign(new TextEncoder().encode(payload)).setProtectedHeader(header as { alg: string }).sign(s.josePriv);
  return { protected: jws.protected!, payload: jws.payload, signature: jws.signature };
}

/** A signature over an arbitrary signing input (RFC 7515 §5.1 step 5), e.g. a payload that is not base64url. */
function signRaw(s: Signer, protectedB64: string, payload: string): string {
  const input = Buffer.from(`${protectedB64}.${payload}`);
  const hash = s.alg === 'ES384' ? 'sha384' : s.alg === 'EdDSA' ? null : 'sha256';
  const key = s.alg.startsWith('ES') ? { key: s.priv, dsaEncoding: 'ieee-p1363' as const } : s.priv;
  return base64url.encode(nodeSign(hash, input, key));
}

type Case = { name: string; jws: FlattenedJWS; jwk: JWK };

async function generate(signers: Signer[], r: () => number): Promise<Case[]> {
  const cases: Case[] = [];
  const payloads = ['', '{}', '{"identifiers":[{"type":"dns","value":"a.test"}]}', JSON.stringify({ x: 'é'.repeat(40) })];
  for (let i = 0; i < N; i++) {
    const s = signers[Math.floor(r() * signers.length)]!;
    const other = signers.find((o) => o !== s && o.alg === s.alg) ?? signers[0]!;
    const good = await goodJws(s, payloads[Math.floor(r() * payloads.length)]!, r);
    const sig = base64url.decode(good.signature);
    const kind = Math.floor(r() * 15);
    const c = (name: string, jws: Partial<FlattenedJWS>, jwk = s.jwk): Case => ({ name: `${i}:${s.alg}:${name}`, jws: { ...good, ...jws }, jwk });
    switch (kind) {
      case 0: case 1: cases.push(c('good', {})); break;
      case 2: cases.push(c('signature char', { signature: mutateChar(good.signature, r) })); break;
      case 3: cases.push(c('payload char', { payload: mutateChar(good.payload, r) })); break;
      case 4: cases.push(c('protected char', { protected: mutateChar(good.protected!, r) })); break;
      case 5: cases.push(c('signature truncated', { signature: good.signature.slice(0, good.signature.length - 1 - Math.floor(r() * 3)) })); break;
      case 6: cases.push(c('signature extended', { signature: base64url.encode(Uint8Array.from([...sig, Math.floor(r() * 256)])) })); break;
      case 7: cases.push(c('other key', {}, other.jwk)); break;
      case 8: cases.push(c('empty signature', { signature: '' })); break;
      case 9: cases.push(c('zero signature', { signature: base64url.encode(new Uint8Array(sig.length)) })); break;
      case 10: cases.push(s.alg.startsWith('ES') ? c('high S', { signature: base64url.encode(highS(sig, s.alg)) }) : c('good', {})); break;
      case 11: {
        // DER (RFC 3279) instead of R || S: a common client bug, refused by both.
        const der = s.alg.startsWith('ES') ? nodeSign(s.alg === 'ES256' ? 'sha256' : 'sha384', Buffer.from(`${good.protected}.${good.payload}`), s.priv) : Buffer.from(sig).subarray(1);
        cases.push(c('DER or short signature', { signature: base64url.encode(der) }));
        break;
      }
      case 12: {
        // Signed, but the payload is 4k+1 characters long: not base64url, so refused after the signature.
        const payload = good.payload + 'A'.repeat((((1 - good.payload.length) % 4) + 4) % 4 || 4);
        cases.push(c('signed payload of 4k+1 chars', { payload, signature: signRaw(s, good.protected!, payload) }));
        break;
      }
      case 13: {
        // Signed, with a non-canonical last payload character: both decode it to the same bytes.
        const p = good.payload || 'e30';
        const bits = p.length % 4 === 2 ? 4 : p.length % 4 === 3 ? 2 : 0;
        const payload = bits ? p.slice(0, -1) + B64[B64.indexOf(p.at(-1)!) ^ 1]! : p;
        cases.push(c('signed non-canonical payload', { payload, signature: signRaw(s, good.protected!, payload) }));
        break;
      }
      default: {
        // Non-canonical final character: same bytes when the unused low bits are dropped.
        const last = good.signature.at(-1)!;
        const idx = B64.indexOf(last);
        const bits = good.signature.length % 4 === 2 ? 4 : good.signature.length % 4 === 3 ? 2 : 0;
        const twin = bits ? B64[idx ^ 1]! : last;
        cases.push(c('non-canonical tail', { signature: good.signature.slice(0, -1) + twin }));
      }
    }
  }
  return cases;
}

const joseKeys = new Map<string, Awaited<ReturnType<typeof importJWK>>>();

async function joseVerdict(jws: FlattenedJWS, alg: string, jwk: JWK): Promise<Uint8Array | null> {
  try {
    const id = alg + JSON.stringify(jwk);
    let key = joseKeys.get(id);
    if (!key) joseKeys.set(id, (key = await importJWK(jwk, alg)));
    return (await flattenedVerify(jws, key, { algorithms: [alg] })).payload;
  } catch {
    return null;
  }
}

function oursVerdict(jws: FlattenedJWS, alg: string, jwk: JWK): Uint8Array | null {
  try {
    return verifySignature(jws, alg, jwk);
  } catch {
    return null;
  }
}

test('node:crypto JWS signature check gives jose flattenedVerify\'s verdict on 10,000 generated inputs (RFC 7515 §5.2, RFC 7518 §3)', async () => {
  const r = prng(0x5eed);
  const signers = await Promise.all((['ES256', 'ES256', 'ES384', 'EdDSA', 'EdDSA', 'RS256', 'RS256'] as Alg[]).map(signer));
  const cases = await generate(signers, r);
  let accepted = 0;
  let structural = 0;
  for (const { name, jws, jwk } of cases) {
    let parsed;
    try {
      parsed = parseFlattenedJws(jws);
    } catch {
      structural++;
      continue; // both sides share the structural checks
    }
    const alg = parsed.header.alg as string;
    const key = publicJwk(jwk);
    const [want, got] = [await joseVerdict(parsed.jws, alg, key), oursVerdict(parsed.jws, alg, key)];
    assert.equal(got !== null, want !== null, `verdicts differ for ${name}: jose ${want ? 'accepts' : 'rejects'}`);
    if (want && got) assert.deepEqual(Buffer.from(got), Buffer.from(want), `payload differs for ${name}`);
    if (want) accepted++;
  }
  // Both verdicts must occur in quantity, or the comparison proves nothing.
  assert.ok(accepted > N / 5, `only ${accepted} accepted`);
  assert.ok(N - accepted - structural > N / 3, `only ${N - accepted - structural} rejected by the signature step`);
});
