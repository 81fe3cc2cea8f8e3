// Who is on the other end of an admin-socket connection. Node has no SO_PEERCRED API, so:
//
// 1. Kernel: the socket file is mode 0600, owned by the issuer's user, in a directory only that
//    user can enter. connect(2) needs write permission on the socket file, so only that user and
//    root (CAP_DAC_OVERRIDE) can connect at all. This is the real guard.
// 2. Application, defence in depth: the kernel's sock_diag table (`ss -xp`, iproute2) names the
//    processes holding the peer end of our accepted socket (matched by inode: our end's inode is
//    the peer's "peer inode"), and /proc/<pid>/status gives their real and effective uids. Every
//    holder must be root or the issuer's own user. This reads the holders *now* (a descriptor
//    passed on by SCM_RIGHTS is checked at its new holder), not the credentials at connect time as
//    SO_PEERCRED would.
// 3. When the holder cannot be seen (the issuer runs unprivileged and the peer is another user's
//    process, whose /proc/<pid>/fd it may not read), the peer got through a 0600 socket of ours, so
//    it is privileged: accepted only while the socket file is still 0600 and ours (checked here).
import { execFile } from 'node:child_process';
import { readFile, readlink, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';

export type PeerVerdict = { ok: true; uids: number[]; how: 'sock_diag' | 'kernel-only' } | { ok: false; reason: string };

function ss(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-xpnH'], { timeout: 5000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/** The inode of our end of an accepted unix socket (Linux /proc/self/fd). */
async function ownInode(sock: Socket): Promise<string | undefined> {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
  return /^socket:\[(\d+)\]$/.exec(link)?.[1];
}

/** Pids holding the socket whose peer inode is `inode`, from `ss -xpnH` lines; null if no such socket is listed. */
export function peerPids(ssOutput: string, inode: string): number[] | null {
  for (const line of ssOutput.split('\n')) {
    const f = line.trim().split(/\s+/);
    // u_str ESTAB 0 0 <local addr> <local ino> <peer addr> <peer ino> [users:((…))]
    if (f.length < 8 || f[7] !== inode || f[5] === inode) continue;
    return [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
  }
  return null;
}

async function uidsOf(pid: number): Promise<number[] | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = status && /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Decides whether the peer of `sock` may operate the issuer (uid 0 or one of `allowed`). */
export async function checkPeer(sock: Socket, opts: { socketPath: string; allowed: readonly number[] }): Promise<PeerVerdict> {
  const allowed = new Set([0, ...opts.allowed]);
  const inode = await ownInode(sock);
  const out = inode ? await ss().catch(() => undefined) : undefined;
  const pids = inode && out !== undefined ? peerPids(out, inode) : null;
  if (pids && pids.length) {
    const seen: number[] = [];
    for (const pid of pids) {
      const uids = await uidsOf(pid);
      if (!uids) return { ok: false, reason: `cannot read the credentials of peer process ${pid}` };
      for (const uid of uids) {
        if (!allowed.has(uid)) return { ok: false, reason: `uid ${uid} is neither root nor the issuer's user (uid ${[...allowed].filter((u) => u !== 0).join(', ') || 0})` };
        seen.push(uid);
      }
    }
    return { ok: true, uids: [...new Set(seen)], how: 'sock_diag' };
  }
  // Not visible: only the kernel's check stands; make sure it is still in force.
  const st = await stat(opts.socketPath).catch(() => undefined);
  if (!st || (st.mode & 0o077) !== 0 || !allowed.has(st.uid)) {
    return { ok: false, reason: `the peer's credentials cannot be read and the admin socket ${opts.socketPath} is not mode 0600 owned by the issuer` };
  }
  return { ok: true, uids: [], how: 'kernel-only' };
}
