// Type=notify readiness: `nixca serve` sends READY=1 over $NOTIFY_SOCKET only once it answers.
// The receiver is a tiny python3 AF_UNIX datagram socket standing in for systemd (python3 is a
// dependency of certbot, which CI installs): it also closes the barrier fd systemd-notify sends,
// as systemd does, so systemd-notify's wait for the manager completes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { notifyReady } from '../../cli/systemd-notify.js';
import { NIXCA_BIN, tempDir } from '../helpers/cli.js';
import { httpsGet, killGroup, track } from '../interop/helpers.js';

const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(0, len(data) - len(data) % 4, 4):
                os.close(int.from_bytes(data[i:i + 4], sys.byteorder))
    print(msg.decode().replace("\\n", "|"), flush=True)
`;

async function receiver(t: { after(fn: () => unknown): void }, path: string): Promise<{ lines: string[]; next(match: RegExp, timeoutMs?: number): Promise<string> }> {
  const child = track(spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'], detached: true }));
  t.after(() => killGroup(child));
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    waiters.splice(0).forEach((w) => w());
  });
  const next = (match: RegExp, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${match} from the notify socket; got ${JSON.stringify(lines)}`)), timeoutMs);
      const check = () => {
        const hit = lines.find((l) => match.test(l));
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  await next(/^LISTENING$/, 30_000);
  return { lines, next };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('notifyReady: nothing without $NOTIFY_SOCKET; READY=1 and a status with it; an error, not a throw, when nobody listens', async (t) => {
  assert.deepEqual(await notifyReady({ PATH: process.env.PATH }, 'x'), { sent: false });
  const dir = await tempDir(t, 'nixca-notify-');
  const sock = join(dir, 'notify.sock');
  const r = await receiver(t, sock);
  assert.deepEqual(await notifyReady({ PATH: process.env.PATH, NOTIFY_SOCKET: sock }, 'serving https://x/directory\nsecond line'), { sent: true });
  assert.match(await r.next(/READY=1/), /STATUS=serving https:\/\/x\/directory second line/);
  const gone = await notifyReady({ PATH: process.env.PATH, NOTIFY_SOCKET: join(dir, 'nobody.sock') }, 'x', 5000);
  assert.equal(gone.sent, false);
  assert.ok(gone.error);
});

test('nixca serve reports READY=1 only when its directory answers', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t, 'nixca-notify-serve-');
  const sock = join(dir, 'notify.sock');
  const r = await receiver(t, sock);
  const port = await freePort();
  const state = join(dir, 'state');
  const child = track(spawn(process.execPath, [NIXCA_BIN, 'serve', '--dev', '--state', state, '--listen', `127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH, NOTIFY_SOCKET: sock },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  }));
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  t.after(() => killGroup(child));
  const ready = await r.next(/READY=1/).catch((e: Error) => assert.fail(`${e.message}\n${log}`));
  assert.match(ready, new RegExp(`STATUS=serving https://localhost:${port}/directory`));
  // The moment systemd would start dependent units, the issuer answers.
  const dirDoc = await httpsGet(`https://localhost:${port}/directory`, await readFile(join(state, 'issuer', 'root.pem'), 'utf8'), 10_000);
  assert.equal(dirDoc.status, 200);
  assert.doesNotMatch(log, /could not tell systemd/);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
});
