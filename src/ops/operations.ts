// One entry point for every operation: validates the request's shape (it may arrive as JSON over
// the admin socket), dispatches, and answers one OpResult or throws OpsError.
import { deactivateAccount } from './accounts.js';
import { keyAdd, keyRevoke, keyRotate } from './keys.js';
import { nodeAdd, nodeEab, nodeRemove, nodeUpdate, renewNow } from './nodes.js';
import { revoke } from './revoke.js';
import { OpsError, type Operation, type OpResult, type OpsDeps } from './types.js';

const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks an untrusted value is an Operation (field types only; the operation checks meaning). */
export function parseOperation(v: unknown): Operation {
  const bad = (what: string) => new OpsError('usage', `malformed operation: ${what}`);
  if (!isObj(v) || !isStr(v.op)) throw bad('needs "op"');
  const str = (k: string) => {
    if (!isStr(v[k])) throw bad(`"${k}" must be a string`);
    return v[k] as string;
  };
  const int = (k: string) => {
    if (typeof v[k] !== 'number' || !Number.isInteger(v[k])) throw bad(`"${k}" must be an integer`);
    return v[k] as number;
  };
  switch (v.op) {
    case 'cert.revoke':
      return { op: v.op, serial: str('serial'), reason: int('reason') };
    case 'cert.revoke-node':
      return { op: v.op, node: str('node'), reason: int('reason') };
    case 'renew-now': {
      const nodes = v.nodes === 'all' ? 'all' : Array.isArray(v.nodes) && v.nodes.every(isStr) ? (v.nodes as string[]) : undefined;
      if (!nodes) throw bad('"nodes" must be "all" or a list of names');
      return { op: v.op, nodes, reason: str('reason') };
    }
    case 'node.add': {
      if (!isObj(v.node) || !isStr(v.node.name)) throw bad('"node" must be a node with a name');
      return { op: v.op, node: v.node as unknown as Extract<Operation, { op: 'node.add' }>['node'] };
    }
    case 'node.update':
      return { op: v.op, name: str('name'), ...(v.site !== undefined ? { site: v.site === null ? null : str('site') } : {}), ...(v.priority !== undefined ? { priority: int('priority') } : {}) };
    case 'node.remove':
      return { op: v.op, name: str('name') };
    case 'node.eab':
      return { op: v.op, name: str('name'), rotate: v.rotate === true, deactivateAccounts: v.deactivateAccounts === true };
    case 'account.deactivate':
      return { op: v.op, id: str('id'), reason: str('reason') };
    case 'key.add':
    case 'key.rotate':
    case 'key.revoke':
      return parseKeyOperation(v, { str, int, bad });
    default:
      throw bad(`unknown op ${JSON.stringify(v.op)}`);
  }
}

type Fields = { str(k: string): string; int(k: string): number; bad(what: string): OpsError };

function parseKeyOperation(v: Record<string, unknown>, f: Fields): Operation {
  const scope = () => (v.scope === null ? null : f.str('scope'));
  const reason = v.reason === undefined ? {} : { reason: f.str('reason') };
  const bool = (k: string) => {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') throw f.bad(`"${k}" must be true or false`);
    return v[k] === true;
  };
  switch (v.op) {
    case 'key.add': {
      const origin = f.str('origin');
      if (origin !== 'generated' && origin !== 'imported') throw f.bad('"origin" must be "generated" or "imported"');
      return { op: 'key.add', scope: scope(), publicKey: f.str('publicKey'), secretKeyPath: f.str('secretKeyPath'), origin, activate: bool('activate'), ...reason };
    }
    case 'key.rotate':
      return { op: 'key.rotate', scope: scope(), minPrepublishMs: f.int('minPrepublishMs'), minOverlapMs: f.int('minOverlapMs'), overlap: bool('overlap'), force: bool('force'), ...reason };
    default:
      return { op: 'key.revoke', name: f.str('name'), reason: f.str('reason'), force: bool('force') };
  }
}

export async function applyOperation(deps: OpsDeps, o: Operation): Promise<OpResult> {
  switch (o.op) {
    case 'cert.revoke':
      return revoke(deps, { serial: o.serial }, o.reason);
    case 'cert.revoke-node':
      return revoke(deps, { node: o.node }, o.reason);
    case 'renew-now':
      return renewNow(deps, o.nodes, o.reason);
    case 'node.add':
      return nodeAdd(deps, o.node);
    case 'node.update':
      return nodeUpdate(deps, o.name, { site: o.site, priority: o.priority });
    case 'node.remove':
      return nodeRemove(deps, o.name);
    case 'node.eab':
      return nodeEab(deps, o.name, o.rotate, o.deactivateAccounts);
    case 'account.deactivate':
      return deactivateAccount(deps, o.id, o.reason);
    case 'key.add':
      return keyAdd(deps, o);
    case 'key.rotate':
      return keyRotate(deps, o);
    case 'key.revoke':
      return keyRevoke(deps, o);
  }
}
