import type { Command } from 'commander';
import type { Io } from './io.js';

export interface CliContext {
  io: Io;
}

/**
 * A command group. Group modules stay light (commander and cli/ helpers only) and import heavy
 * modules (x509, fastify, tweetnacl) inside their actions, so `nixca --help` starts fast.
 */
export type RegisterGroup = (program: Command, ctx: CliContext) => void;

/** `--state DIR`: the issuer's state directory (inventory, ACME store, intermediate). */
export function stateDir(ctx: CliContext, flag: string | undefined): string {
  return flag ?? ctx.io.env.NIXCA_STATE_DIR ?? '/var/lib/nixca';
}

export const STATE_OPTION_HELP = 'issuer state directory (default: $NIXCA_STATE_DIR or /var/lib/nixca)';

/** Commander argParser for repeatable options (`--dns a --dns b` → ['a', 'b']). */
export const collect = (value: string, prev: string[] = []): string[] => [...prev, value];
