// Everything the commands need from the outside world, as one object, so tests can drive the CLI
// in-process (test/cli) with captured output and a fake environment.
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** True when a person can answer a prompt. */
  readonly interactive: boolean;
  /** Asks without echo (passphrases). Only when `interactive`. */
  promptSecret(question: string): Promise<string>;
  now(): Date;
  /** --allow-insecure-passphrase-file: a passphrase file group or others can read is accepted. */
  readonly allowInsecurePassphraseFile?: boolean;
}

function promptHidden(question: string, output: Writable): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output, terminal: true });
    // Suppress echo of what is typed (readline writes keystrokes through _writeToOutput).
    const r = rl as unknown as { _writeToOutput: (s: string) => void };
    output.write(question);
    r._writeToOutput = () => undefined;
    rl.question('', (answer) => {
      output.write('\n');
      rl.close();
      resolve(answer);
    });
    rl.on('SIGINT', () => {
      rl.close();
      reject(Object.assign(new Error('cancelled'), { kind: 'usage' }));
    });
  });
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    env: process.env,
    cwd: process.cwd(),
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    promptSecret: (q) => promptHidden(q, process.stderr),
    now: () => new Date(),
  };
}

export interface OutputOptions {
  json?: boolean;
}

/** Compute once, render as text or --json (one JSON document on stdout). */
export function emit<T>(io: Io, opts: OutputOptions, data: T, text: (d: T) => string): void {
  if (opts.json) io.out(JSON.stringify(data, null, 2));
  else {
    const s = text(data);
    if (s) io.out(s);
  }
}
