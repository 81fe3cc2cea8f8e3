// `nixca completion bash|zsh|fish`: shell completion generated from the commander command tree
// itself (every subcommand and option), so it can never name a command that does not exist.
import type { Command } from 'commander';
import type { CliContext, RegisterGroup } from './context.js';
import { CliError } from './errors.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

interface Node {
  /** Subcommand names from the root, e.g. ['node', 'add']; [] is nixca itself. */
  path: string[];
  description: string;
  subcommands: { name: string; description: string }[];
  options: { flag: string; description: string; takesValue: boolean }[];
}

/** Every command of the tree, depth first, with its subcommands and options (help included). */
export function commandTree(program: Command): Node[] {
  const out: Node[] = [];
  const visit = (cmd: Command, path: string[]) => {
    const options = cmd.options
      .filter((o) => !o.hidden)
      .flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)).map((flag) => ({ flag, description: o.description, takesValue: o.required || o.optional })));
    options.push({ flag: '--help', description: 'display help for command', takesValue: false });
    out.push({ path, description: cmd.description(), subcommands: cmd.commands.map((c) => ({ name: c.name(), description: c.description() })), options });
    for (const c of cmd.commands) visit(c, [...path, c.name()]);
  };
  visit(program, []);
  return out;
}

const words = (n: Node) => [...n.subcommands.map((s) => s.name), ...n.options.map((o) => o.flag)].join(' ');

/** bash: one function; the command path is the words so far that name a known command. */
function bash(tree: Node[]): string {
  const cases = tree.map((n) => `    '${n.path.join(' ')}') echo '${words(n)}' ;;`).join('\n');
  return `# nixca completion for bash: eval "$(nixca completion bash)" (or save it in
# /etc/bash_completion.d/nixca).
_nixca_words() {
  case "$1" in
${cases}
  esac
}
_nixca() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    next="\${path:+$path }$w"
    [[ -n "$(_nixca_words "$next")" ]] && path="$next"
  done
  COMPREPLY=($(compgen -W "$(_nixca_words "$path")" -- "$cur"))
}
complete -o default -F _nixca nixca
`;
}

/** zsh: the bash completion through zsh's bashcompinit (same tree, same behaviour). */
function zsh(tree: Node[]): string {
  return `#compdef nixca
# nixca completion for zsh: eval "$(nixca completion zsh)" in ~/.zshrc.
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(tree).split('\n').slice(2).join('\n')}`;
}

const fishQuote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** fish: `complete` lines conditioned on the command path computed from the command line. */
function fish(tree: Node[]): string {
  const paths = tree.filter((n) => n.path.length).map((n) => fishQuote(n.path.join(' '))).join(' ');
  const lines: string[] = [
    '# nixca completion for fish: nixca completion fish > ~/.config/fish/completions/nixca.fish',
    `set -g __nixca_paths ${paths}`,
    'function __nixca_path',
    '    set -l path',
    '    for w in (commandline -opc)[2..-1]',
    "        string match -q -- '-*' $w; and continue",
    "        set -l next (string join ' ' $path $w)",
    '        contains -- $next $__nixca_paths; and set path $path $w',
    '    end',
    "    string join ' ' $path",
    'end',
    'function __nixca_at',
    '    set -l p (__nixca_path)',
    '    test "$p" = "$argv[1]"',
    'end',
    'complete -c nixca -f',
  ];
  for (const n of tree) {
    const cond = `-n ${fishQuote(`__nixca_at ${fishQuote(n.path.join(' '))}`)}`;
    for (const s of n.subcommands) lines.push(`complete -c nixca ${cond} -a ${fishQuote(s.name)} -d ${fishQuote(s.description)}`);
    for (const o of n.options) {
      const flag = o.flag.startsWith('--') ? `-l ${o.flag.slice(2)}` : `-s ${o.flag.slice(1)}`;
      lines.push(`complete -c nixca ${cond} ${flag}${o.takesValue ? ' -r -F' : ''} -d ${fishQuote(o.description)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function completionScript(program: Command, shell: Shell): string {
  const tree = commandTree(program);
  return shell === 'bash' ? bash(tree) : shell === 'zsh' ? zsh(tree) : fish(tree);
}

export const registerCompletion: RegisterGroup = (program: Command, ctx: CliContext) => {
  program
    .command('completion')
    .description('print shell completion for bash, zsh or fish (generated from the command tree)')
    .argument('<shell>', SHELLS.join(' | '))
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) throw new CliError('usage', `unknown shell ${JSON.stringify(shell)}; give one of ${SHELLS.join(', ')}`);
      ctx.io.out(completionScript(program, shell as Shell).replace(/\n$/, ''));
    });
};
