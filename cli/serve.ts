// `nixca serve`: the online ACME issuer (RFC 8555) over HTTPS, with its own certificate from the
// intermediate. `--dev` first creates a clearly labelled development PKI in ./nixca-state (the
// README's main job). Flags and the --config file are parsed once, by src/config/serve.ts, into
// the ServeConfig that serve-run.ts (and dev.ts) use; the heavy lifting is imported lazily.
import { Option, type Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { collect, stateDir, type CliContext, type RegisterGroup } from './context.js';
import { CliError } from './errors.js';
import { readText } from './files.js';
import { storeSelection } from './store-option.js';
import { SERVE_SETTINGS, resolveServeConfig, showServeConfig, type ServeConfig } from '../src/config/serve.js';
import { jsonSchemaOf } from '../src/config/settings.js';

interface MetaFlags {
  config?: string;
  printConfig?: boolean;
  printConfigSchema?: boolean;
}

/** Reads a --config file: JSON, one object whose keys are the settings' keys. */
async function readConfigFile(ctx: CliContext, file: string): Promise<{ path: string; dir: string; data: unknown }> {
  const path = resolve(ctx.io.cwd, file);
  const text = await readText(path, 'configuration file');
  try {
    return { path, dir: dirname(path), data: JSON.parse(text) as unknown };
  } catch (err) {
    throw new CliError('usage', `${path}: not valid JSON (${(err as Error).message})`);
  }
}

/** Parses the command line and the --config file once into the typed ServeConfig. */
export async function serveConfigFromCommand(ctx: CliContext, cmd: Command): Promise<ServeConfig> {
  const meta = cmd.opts<MetaFlags>();
  const flags: Record<string, unknown> = {};
  // Only flags actually given override the file; defaults come from SERVE_SETTINGS.
  for (const key of Object.keys(SERVE_SETTINGS)) {
    if (cmd.getOptionValueSource(key) === 'cli') flags[key] = cmd.getOptionValue(key);
  }
  const file = meta.config ? await readConfigFile(ctx, meta.config) : undefined;
  const config = resolveServeConfig({ file, flags, cwd: ctx.io.cwd }, resolve(ctx.io.cwd, stateDir(ctx, undefined)));
  // NIXCA_STORE and the systemd credential nixca-store-password, as for every store command.
  const sel = storeSelection(ctx, { state: config.state, store: config.store, storePasswordFile: config.storePasswordFile });
  // The admin socket by the rule every CLI command uses (setting, $NIXCA_ADMIN_SOCKET, STATE/admin.sock).
  const { adminSocketPathOf } = await import('../src/ops/socket-path.js');
  const adminSocket = adminSocketPathOf({ configured: config.adminSocket, env: ctx.io.env.NIXCA_ADMIN_SOCKET, state: config.state, cwd: ctx.io.cwd });
  return { ...config, store: sel.url, storePasswordFile: sel.passwordFile, adminSocket };
}

export const registerServe: RegisterGroup = (program: Command, ctx: CliContext) => {
  const serve = program
    .command('serve')
    .description('run the ACME issuer (RFC 8555) over HTTPS; --dev creates and uses a development PKI in ./nixca-state');
  for (const [key, s] of Object.entries(SERVE_SETTINGS)) {
    const o = new Option(s.flag, s.help);
    // Every flag is the key of the same name in a --config file; keep the two spellings in step.
    if (o.attributeName() !== key) throw new Error(`serve setting ${key}: flag ${s.flag} would be read as ${o.attributeName()}`);
    if (s.repeatable) o.argParser(collect);
    serve.addOption(o);
  }
  serve
    .option('--config <file>', 'JSON file of settings (keys as printed by --print-config); flags given on the command line override it')
    .option('--print-config', 'print the effective configuration (defaults, then --config, then flags) as JSON, secrets redacted, and exit')
    .option('--print-config-schema', 'print the JSON Schema of a --config file and exit')
    .addHelpText('after', `
Durations: a whole number with a unit (y, w, d, h, m, s, ms), largest first: 7d, 36h, 1d12h, 90s.
Examples:
  nixca serve --dev                                  # development PKI in ./nixca-state, https://localhost:8443/directory
  nixca serve --state /var/lib/nixca --listen 0.0.0.0:8443 --base-url https://acme.n3x.internal:8443/
  nixca serve --config /etc/nixca/serve.json --log-level debug
  nixca serve --config /etc/nixca/serve.json --print-config
See docs/serving.md.`)
    .action(async (_opts: unknown, cmd: Command) => {
      const meta = cmd.opts<MetaFlags>();
      if (meta.printConfigSchema) {
        ctx.io.out(JSON.stringify(jsonSchemaOf(SERVE_SETTINGS, 'nixca serve configuration'), null, 2));
        return;
      }
      const config = await serveConfigFromCommand(ctx, cmd);
      if (meta.printConfig) {
        ctx.io.out(JSON.stringify(showServeConfig(config), null, 2));
        return;
      }
      const { runServe } = await import('./serve-run.js');
      await runServe(ctx, config);
    });
};
