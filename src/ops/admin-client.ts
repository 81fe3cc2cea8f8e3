// The CLI's side of the admin socket: send one operation to the running issuer.
import { connect } from 'node:net';
import type { AdminAnswer } from './admin-socket.js';
import { OpsError, type Operation, type OpResult } from './types.js';

/** Why the socket could not be used: no issuer there, or this user may not use it. */
export type Unreachable = { unreachable: 'absent' | 'denied'; message: string };

/** Sends `op`; resolves with the result, or `Unreachable`, or rejects with the issuer's OpsError. */
export function sendOperation(path: string, op: Operation, timeoutMs = 60_000): Promise<OpResult | Unreachable> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let connected = false;
    const timer = setTimeout(() => sock.destroy(new Error(`the issuer did not answer on ${path} within ${timeoutMs / 1000} s`)), timeoutMs);
    sock.on('connect', () => {
      connected = true;
      sock.write(JSON.stringify(op) + '\n');
    });
    sock.on('data', (d) => (buf += d.toString('utf8')));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) return resolve({ unreachable: 'absent', message: err.message });
      if (!connected && (err.code === 'EACCES' || err.code === 'EPERM')) return resolve({ unreachable: 'denied', message: `permission denied on ${path}` });
      reject(new OpsError('io', `admin socket ${path}: ${err.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!connected) return;
      let a: AdminAnswer;
      try {
        a = JSON.parse(buf.trim()) as AdminAnswer;
      } catch {
        return reject(new OpsError('io', `the issuer closed ${path} without an answer`));
      }
      if (a.ok) resolve(a.result);
      else reject(Object.assign(new OpsError(a.error.kind === 'internal' ? 'io' : a.error.kind, a.error.message), a.error.kind === 'internal' ? { kind: 'internal' } : {}));
    });
  });
}
