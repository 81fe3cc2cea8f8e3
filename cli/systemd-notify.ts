// Readiness for a systemd `Type=notify` unit (sd_notify(3)): once the issuer listens, tell the
// service manager, so that units ordered after nixca.service start only when it can answer.
//
// The protocol is one datagram on the AF_UNIX socket named by $NOTIFY_SOCKET. Node cannot send
// unix datagrams, so this runs systemd's own `systemd-notify` (on the PATH of every NixOS unit).
// The message then comes from a child process, which the unit must allow with NotifyAccess=all;
// systemd-notify (v246+) waits until the manager has processed it (a barrier), so the child
// exiting first cannot lose the message.
import { execFile } from 'node:child_process';

export interface NotifyResult {
  /** False when not run under systemd (no $NOTIFY_SOCKET): nothing was sent. */
  sent: boolean;
  error?: string;
}

/** Sends `READY=1` (plus a status line) when $NOTIFY_SOCKET is set; never throws. */
export function notifyReady(env: Readonly<Record<string, string | undefined>>, status: string, timeoutMs = 10_000): Promise<NotifyResult> {
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return Promise.resolve({ sent: false });
  const childEnv: Record<string, string> = { NOTIFY_SOCKET: socket };
  if (env.PATH) childEnv.PATH = env.PATH;
  return new Promise((resolve) => {
    execFile('systemd-notify', ['--ready', `--status=${status.replace(/[\r\n]/g, ' ')}`], { env: childEnv, timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (!err) return resolve({ sent: true });
      resolve({ sent: false, error: (stderr.trim() || err.message).split('\n')[0] });
    });
  });
}
