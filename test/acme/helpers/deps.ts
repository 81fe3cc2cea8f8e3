// testDeps(): everything buildAcmeApp needs, real where it can be (the store on a temp dir, a real
// CA), with an inventory in memory and a scriptable fake ChallengeValidator (unit tests only).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChallengeValidator, ValidationOutcome, ValidationRequest } from '../../../src/acme/challenges.js';
import type { AcmeDeps } from '../../../src/acme/http/app.js';
import type { AcmeStore } from '../../../src/acme/store.js';
import { addNode, ensureEab } from '../../../src/inventory/inventory.js';
import { emptyInventory, type InventoryData } from '../../../src/inventory/model.js';
import { openAcmeStore } from '../../../src/store/acme.js';
import { testCa, type TestCa } from './ca.js';

export const BASE_URL = 'https://acme.test:8443/acme/';
export const NODE_A = { name: 'nuc-1', dns: ['cache.nuc-1.test', 'www.nuc-1.test'] };
export const NODE_B = { name: 'nuc-2', dns: ['cache.nuc-2.test'] };
export const NODE_SUFFIX = { name: 'bench', suffix: 'bench.test' };

export interface FakeValidator extends ChallengeValidator {
  calls: ValidationRequest[];
  /** Decides each validation; default: valid. */
  decide: (req: ValidationRequest) => ValidationOutcome | Promise<ValidationOutcome>;
}

export function fakeValidator(): FakeValidator {
  const v: FakeValidator = {
    calls: [],
    decide: () => ({ valid: true }),
    async validate(req) {
      v.calls.push(req);
      return v.decide(req);
    },
  };
  return v;
}

export interface TestEnv {
  deps: AcmeDeps;
  dir: string;
  store: AcmeStore;
  inventory: InventoryData;
  validator: FakeValidator;
  ca: TestCa;
  eab: Record<string, { keyId: string; macKey: string }>;
  /** Moves the test clock (deps.clock). */
  clock: { now: Date };
  cleanup(): Promise<void>;
}

export async function testEnv(overrides: Partial<AcmeDeps> = {}, opts: { dir?: string } = {}): Promise<TestEnv> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'nixca-acme-')));
  const inventory = emptyInventory();
  const t0 = new Date();
  addNode(inventory, { name: NODE_A.name, dnsNames: NODE_A.dns }, t0);
  addNode(inventory, { name: NODE_B.name, dnsNames: NODE_B.dns }, t0);
  addNode(inventory, { name: NODE_SUFFIX.name, dnsSuffixes: [NODE_SUFFIX.suffix] }, t0);
  const eab: TestEnv['eab'] = {};
  for (const n of [NODE_A.name, NODE_B.name, NODE_SUFFIX.name]) {
    const { node } = ensureEab(inventory, n, t0);
    eab[n] = { keyId: node.eab!.keyId, macKey: node.eab!.macKey };
  }
  const clock = { now: new Date() };
  const store = await openAcmeStore(dir, { now: () => clock.now });
  const ca = await testCa();
  const validator = fakeValidator();
  const deps: AcmeDeps = {
    baseUrl: BASE_URL,
    store,
    inventory: { read: async () => inventory },
    signer: ca.signer,
    validator,
    clock: () => clock.now,
    validationTimeoutMs: 2000,
    ...overrides,
  };
  return {
    deps,
    dir,
    store,
    inventory,
    validator,
    ca,
    eab,
    clock,
    async cleanup() {
      await store.close().catch(() => undefined);
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The brief's name: AcmeDeps ready for buildAcmeApp (see testEnv for the handles tests need). */
export async function testDeps(overrides: Partial<AcmeDeps> = {}): Promise<AcmeDeps & { env: TestEnv }> {
  const env = await testEnv(overrides);
  return { ...env.deps, env };
}
