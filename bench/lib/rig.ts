// One load rig for the tests that drive a real `nixca serve` with many acme-client flows
// (test/crash, test/scale): a server owning `count` fresh names, the http-01 responder, the
// prepared keys/CSRs, the flow options and the issuing root, all torn down when the test ends.
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { configureAcmeClient, Http01Responder, prepare, splitPem, type FlowOptions, type Prepared } from './flow.js';
import { DEFAULT_SUFFIX, freePort, startNixca, type NixcaServer } from './nixca.js';

export interface RigOptions {
  /** Free ports are picked in these ranges if given, else by the kernel (port 0). */
  ports?: [number, number];
  http01Ports?: [number, number];
  /** Names that get a prepared flow, and names the server must also own (used later by the test). */
  count: number;
  extraNames?: number;
  /** One letter that makes the suite's names recognisable in logs. */
  prefix: string;
  pollMs: number;
  timeoutMs: number;
  httpTimeoutMs: number;
}

export interface Rig {
  server: NixcaServer;
  responder: Http01Responder;
  names: string[];
  extraNames: string[];
  preps: Prepared[];
  opts: FlowOptions;
  roots(): X509Certificate[];
}

export async function startRig(t: { after(fn: () => unknown): void }, o: RigOptions): Promise<Rig> {
  configureAcmeClient(o.httpTimeoutMs);
  const port = await freePort(...(o.ports ?? []));
  let http01Port = await freePort(...(o.http01Ports ?? []));
  while (http01Port === port) http01Port = await freePort(...(o.http01Ports ?? []));
  const prefix = `${o.prefix}${randomBytes(3).toString('hex')}`;
  const names = Array.from({ length: o.count }, (_, i) => `${prefix}-${i}.${DEFAULT_SUFFIX}`);
  const extraNames = Array.from({ length: o.extraNames ?? 0 }, (_, i) => `${prefix}-extra-${i}.${DEFAULT_SUFFIX}`);
  const server = await startNixca({ port, http01Port, names: [...names, ...extraNames], logLevel: 'warn' });
  t.after(() => server.stop());
  const responder = new Http01Responder(http01Port);
  await responder.start();
  t.after(() => responder.close());
  const preps = await prepare(names);
  const opts: FlowOptions = {
    directory: server.target.directory,
    secureContext: createSecureContext({ ca: readFileSync(server.target.caFile!) }),
    eab: server.target.eab,
    responder,
    pollMs: o.pollMs,
    timeoutMs: o.timeoutMs,
  };
  const roots = () => splitPem(readFileSync(server.target.issuerRoot!, 'utf8')).map((p) => new X509Certificate(p));
  return { server, responder, names, extraNames, preps, opts, roots };
}
