// The admin channel of the running issuer: a unix socket (never a TCP port), mode 0600, one JSON
// request line in, one JSON answer line out. The peer is checked (peer.ts) before anything is read
// as an operation. Operations run one at a time, inside the process that owns the store.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { ErrorKind } from '../ca/errors.js';
import { checkPeer } from './peer.js';
import { applyOperation, parseOperation } from './operations.js';
import { OpsError, type OpResult, type OpsDeps } from './types.js';

export { ADMIN_SOCKET_FILE } from './socket-path.js';
const MAX_REQUEST = 64 * 1024;

export type AdminAnswer = { ok: true; result: OpResult } | { ok: false; error: { kind: ErrorKind | 'internal'; message: string } };

export interface AdminLogger {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export interface AdminServer {
  path: string;
  close(): Promise<void>;
}

function kindOf(err: unknown): ErrorKind | 'internal' {
  const k = (err as { kind?: unknown })?.kind;
  return typeof k === 'string' ? (k as ErrorKind) : 'internal';
}

function readLine(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const i = buf.indexOf('\n');
      if (i >= 0) {
        sock.off('data', onData);
        resolve(buf.slice(0, i));
      } else if (buf.length > MAX_REQUEST) reject(new OpsError('usage', 'request too large'));
    };
    sock.on('data', onData);
    sock.once('end', () => reject(new OpsError('usage', 'the request ended before a full line')));
    sock.once('error', reject);
  });
}

/** Creates the socket (replacing a stale one: the caller holds the store's writer lock). */
export async function startAdminServer(opts: { path: string; deps: OpsDeps; allowedUids: readonly number[]; log: AdminLogger }): Promise<AdminServer> {
  await mkdir(dirname(opts.path), { recursive: true, mode: 0o700 });
  const old = await lstat(opts.path).catch(() => undefined);
  if (old) {
    if (!old.isSocket()) throw new OpsError('conflict', `${opts.path} exists and is not a socket; refusing to replace it`);
    await unlink(opts.path);
  }
  let queue: Promise<unknown> = Promise.resolve();
  const serve = async (sock: Socket) => {
    const answer = (a: AdminAnswer) => sock.end(JSON.stringify(a) + '\n');
    const [peer, line] = await Promise.all([checkPeer(sock, { socketPath: opts.path, allowed: opts.allowedUids }), readLine(sock).catch((e: Error) => e)]);
    if (!peer.ok) {
      opts.log.warn({ reason: peer.reason }, 'admin socket: refused a peer');
      return answer({ ok: false, error: { kind: 'auth', message: `refused by the issuer's admin socket: ${peer.reason}` } });
    }
    if (line instanceof Error) return answer({ ok: false, error: { kind: kindOf(line), message: line.message } });
    const run = async (): Promise<AdminAnswer> => {
      try {
        let request: unknown;
        try {
          request = JSON.parse(line);
        } catch {
          throw new OpsError('usage', 'the request is not JSON');
        }
        const result = await applyOperation(opts.deps, parseOperation(request));
        opts.log.info({ op: result.op, peerUids: peer.uids, peerCheck: peer.how }, 'admin operation applied');
        return { ok: true, result };
      } catch (err) {
        const kind = kindOf(err);
        return { ok: false, error: { kind, message: kind === 'internal' ? `internal error: ${(err as Error).message}` : (err as Error).message } };
      }
    };
    const next = queue.then(run);
    queue = next.catch(() => undefined);
    answer(await next);
  };
  const server: Server = createServer((sock) => {
    sock.on('error', () => undefined);
    serve(sock).catch((err: Error) => {
      opts.log.warn({ err: err.message }, 'admin socket: connection failed');
      sock.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The process umask (077) already made it private; say so explicitly (docs/operations.md).
  await chmod(opts.path, 0o600);
  return {
    path: opts.path,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
