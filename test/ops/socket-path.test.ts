// Where `nixca serve` and the CLI look for the admin socket: one rule (setting or --admin-socket,
// then $NIXCA_ADMIN_SOCKET, then STATE/admin.sock), shown by --print-config. That the two really
// meet on a configured path is shown with real processes in test/interop/ops.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { adminSocketPathOf } from '../../src/ops/socket-path.js';

describe('admin socket path', () => {
  it('configured, else $NIXCA_ADMIN_SOCKET (empty = unset), else STATE/admin.sock; relative to cwd', () => {
    const base = { state: '/var/lib/nixca', cwd: '/home/op' };
    assert.equal(adminSocketPathOf({ ...base }), '/var/lib/nixca/admin.sock');
    assert.equal(adminSocketPathOf({ ...base, env: '' }), '/var/lib/nixca/admin.sock');
    assert.equal(adminSocketPathOf({ ...base, env: '/run/nixca/admin.sock' }), '/run/nixca/admin.sock');
    assert.equal(adminSocketPathOf({ ...base, env: '/run/nixca/admin.sock', configured: '/run/other.sock' }), '/run/other.sock');
    assert.equal(adminSocketPathOf({ ...base, env: 'sock/a' }), '/home/op/sock/a');
  });

  it('a path too long for sun_path is a usage error naming where it came from', () => {
    const long = '/run/' + 'x'.repeat(120);
    assert.throws(() => adminSocketPathOf({ state: '/s', cwd: '/', env: long }), (e: Error & { kind?: string }) => e.kind === 'usage' && /\$NIXCA_ADMIN_SOCKET .* at most 107/.test(e.message));
    assert.throws(() => adminSocketPathOf({ state: '/' + 'y'.repeat(110), cwd: '/' }), /default admin socket \(in the state directory\)/);
  });

  it('serve --print-config shows the path serve will use, by the same rule', async () => {
    const print = async (args: string[], env: Record<string, string> = {}) => {
      const r = await runCli(['serve', '--state', '/srv/nixca', ...args, '--print-config'], { cwd: '/tmp', env });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { adminSocket: string }).adminSocket;
    };
    assert.equal(await print([]), join('/srv/nixca', 'admin.sock'));
    assert.equal(await print([], { NIXCA_ADMIN_SOCKET: '/run/nixca/admin.sock' }), '/run/nixca/admin.sock');
    assert.equal(await print(['--admin-socket', '/run/x.sock'], { NIXCA_ADMIN_SOCKET: '/run/nixca/admin.sock' }), '/run/x.sock');
    const bad = await runCli(['serve', '--state', '/srv/nixca', '--admin-socket', '/' + 'z'.repeat(120), '--print-config'], { cwd: '/tmp' });
    assert.equal(bad.code, 2, bad.stderr);
  });
});
