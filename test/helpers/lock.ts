// A real lock holder in another process (what `nixca serve` or a running CLI command is to the
// process under test): the kernel lock is taken there, so a test can never fake it with a file.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL, fileURLToPath } from 'node:url';

const LOCK_MODULE = pathToFileURL(fileURLToPath(new URL('../../src/store/lock.js', import.meta.url))).href;

export interface LockHolder {
  pid: number;
  /** Ends the holder (the kernel releases its lock) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a process that takes `lockPath` and holds it until stopped (or until our stdin pipe closes). */
export async function holdLockInChild(lockPath: string): Promise<LockHolder> {
  const code = `const { acquireFileLock } = await import(${JSON.stringify(LOCK_MODULE)});
await acquireFileLock(${JSON.stringify(lockPath)}, 10000);
process.stdout.write('held\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('held\n')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`lock holder exited (${String(c)}) before taking ${lockPath}`)));
  });
  const exited = once(child, 'exit');
  return {
    pid: child.pid!,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) {
        if (signal) child.kill(signal);
        else child.stdin.end();
        await exited;
      }
    },
  };
}
