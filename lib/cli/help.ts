/**
 * `--help` rendering and bash completion, from the same option table the hot
 * path parses (lib/cli/options.ts). Only ever loaded with a dynamic `import()`
 * when help or completion is asked for, so nothing here costs a trivial call
 * any start-up time (design.md §2.5).
 *
 * Help fits the terminal it is printed on: COLUMNS when set (as ls(1) and
 * other coreutils honour it), else the terminal's width, else 80 (a pipe or a
 * file). Running text is wrapped at word boundaries; an example's command is
 * never wrapped, because a command broken over two lines pastes as two
 * commands: it gets its own line(s) (longer than the width if it must be) and
 * its description follows on the next line, indented. A docs test
 * (tests/bats/examples.bats) runs every example, so the commands shown here
 * are commands that work.
 *
 * Completion: one bash function per program, generated from the tables, that
 * knows each (sub)command's options, the values an option takes (its
 * `choices` or `complete` hint: words, files, directories, or nothing for a
 * duration nobody can guess), files for positionals and a command after `--`.
 * For git-lock it also defines `_git_lock`, the function git's own bash
 * completion calls for `git lock ...` (git-completion.bash
 * `__git_complete_command`, which also loads completions/git-lock on demand).
 */
import { COMMON_OPTIONS, type CommandTable, type OptionSpec, type OptionTable } from "./options";

/** Options answered before parsing (cmd/_shared/main.ts), shown in every help page and man page. */
export function helpOnlyOptions(program: string): OptionTable {
  return {
    completion: {
      type: "boolean",
      describe: `Print a bash completion script and exit (load it with \`source <(${program} --completion)\`)`,
    },
  };
}

/**
 * The width to wrap help at: COLUMNS (a positive integer), else the terminal's
 * columns when the stream is a terminal, else 80.
 */
export function helpWidth(env: Record<string, string | undefined>, stream: { isTTY?: boolean; columns?: number }): number {
  const fromEnv = /^\d+$/.test(env.COLUMNS ?? "") ? Number(env.COLUMNS) : 0;
  const cols = fromEnv > 0 ? fromEnv : stream.isTTY && stream.columns ? stream.columns : 80;
  return Math.max(cols, 40); // narrower than this nothing reads well; a long word still never breaks
}

/** Wrap text at word boundaries to `width` columns, every line prefixed by `indent` spaces (the first by `first`). */
export function wrap(text: string, width: number, indent: number, first = indent): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    let pad = out.length === 0 ? first : indent;
    // A `quoted command` is one word: a command broken over two lines pastes as two.
    for (const word of para.match(/(?:`[^`]*`|[^ `])+/g) ?? []) {
      if (line && pad + line.length + 1 + word.length > width) {
        out.push(" ".repeat(pad) + line);
        pad = indent;
        line = word; // a word longer than the line stays whole
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(" ".repeat(pad) + line);
  }
  return out;
}

function aliasesOf(spec: OptionSpec): readonly string[] {
  return spec.alias === undefined ? [] : typeof spec.alias === "string" ? [spec.alias] : spec.alias;
}

function optionName(name: string, spec: OptionSpec): string {
  const names = [...aliasesOf(spec).map((a) => (a.length === 1 ? `-${a}` : `--${a}`)), `--${name}`].join(", ");
  const head = aliasesOf(spec).some((a) => a.length === 1) ? names : `    ${names}`;
  if (spec.type === "boolean" || spec.type === "count") return head;
  const v = spec.type === "number" ? "N" : "VALUE";
  return spec.optionalValue ? `${head}[=${v}]` : `${head} ${v}`;
}

function optionText(spec: OptionSpec): string {
  let t = spec.describe;
  if (spec.choices) t += ` (one of: ${spec.choices.join(", ")})`;
  if (spec.default !== undefined && spec.default !== false && spec.default !== "") t += ` (default: ${String(spec.default)})`;
  return t;
}

/** Two columns: names, then text wrapped beside them; a name too wide for the column puts its text on the next line. */
function twoColumns(rows: [string, string][], width: number, names = rows.map(([n]) => n)): string[] {
  const col = Math.min(Math.max(...names.map((n) => n.length)) + 4, Math.floor(width * 0.4));
  const out: string[] = [];
  // Too narrow for two columns that read well: the text goes under each name.
  if (width - col < 36) return rows.flatMap(([name, text]) => [`  ${name}`, ...wrap(text, width, 8)]);
  for (const [name, text] of rows) {
    const head = `  ${name}`;
    if (head.length + 2 <= col) {
      const body = wrap(text, width, col);
      out.push(head + body[0]!.slice(head.length), ...body.slice(1));
    } else out.push(head, ...wrap(text, width, col));
  }
  return out;
}

/** The command's options in help order: each group under its heading, ungrouped and common ones under "Options:". */
function optionSections(table: CommandTable, program: string): [string, [string, string][]][] {
  const groups = new Map<string, [string, string][]>();
  const all = { ...table.options, ...COMMON_OPTIONS, ...helpOnlyOptions(program) };
  for (const [name, spec] of Object.entries(all)) {
    if (spec.hidden) continue;
    const g = spec.group ?? "Options:";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push([optionName(name, spec), optionText(spec)]);
  }
  const general = groups.get("Options:")!;
  groups.delete("Options:");
  return [...groups.entries(), ["Options:", general]];
}

export interface HelpExtras {
  /** The name the command is called by (for the completion line); defaults to the table's first word. */
  program?: string;
  /** For an overview page: the subcommands, each listed with its description. */
  subcommands?: Record<string, CommandTable>;
}

/** Full help text for a command table, wrapped to `width` columns. */
export function renderHelp(table: CommandTable, width = 80, extras: HelpExtras = {}): string {
  const program = extras.program ?? table.command.split(" ")[0]!;
  const out: string[] = ["Usage:"];
  // "SYNOPSIS   what it does": the synopsis is a command and stays whole; when a line is too wide,
  // every note moves below its synopsis (all alike, so the synopses still line up).
  const usage = table.usage.map((u) => `  ${u.replace(/\$0/g, table.command)}`);
  const fits = usage.every((l) => l.length <= width);
  for (const line of usage) {
    const m = /^(.*?\S) {2,}(\S.*)$/.exec(line);
    if (fits || !m) out.push(line);
    else out.push(m[1]!, ...wrap(m[2]!, width, 6));
  }
  out.push("", ...wrap(table.description, width, 0));
  const subs = Object.entries(extras.subcommands ?? {});
  if (subs.length) {
    out.push("", "Commands:");
    out.push(...twoColumns(subs.map(([name, t]) => [name, t.description]), width));
    out.push(...wrap(`Run \`${program} COMMAND --help\` for a command's options.`, width, 2));
  }
  const sections = optionSections(table, program);
  const names = sections.flatMap(([, rows]) => rows.map(([n]) => n)); // one column for every group
  for (const [heading, rows] of sections) out.push("", heading, ...twoColumns(rows, width, names));
  if (table.examples.length) {
    out.push("", "Examples:");
    for (const [cmd, what] of table.examples) out.push(`  ${cmd.replace(/\$0/g, table.command)}`, ...wrap(what, width, 6));
  }
  if (table.environment?.length) out.push("", "Environment:", ...twoColumns(table.environment, width));
  if (table.epilog) out.push("", ...wrap(table.epilog, width, 0));
  return out.map((l) => l.trimEnd()).join("\n") + "\n";
}

// ---- bash completion ---------------------------------------------------------

/** A bash word list, single-quoted where needed. */
function sq(s: string): string {
  return /^[A-Za-z0-9_.,:=+\/@%-]*$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The bash statement that completes a value of `spec` from $cur (prefix $pre is put back on each word). */
function valueCompletion(spec: OptionSpec): string {
  const words = spec.choices ?? (Array.isArray(spec.complete) ? spec.complete : undefined);
  if (words) return `_hardshell_words ${sq(words.join(" "))}`;
  if (spec.complete === "file") return "_hardshell_files -f";
  if (spec.complete === "dir") return "_hardshell_files -d";
  return ":"; // a duration, a name, a number: nothing to offer (and no file names)
}

function namesOf(name: string, spec: OptionSpec): string[] {
  return [`--${name}`, ...aliasesOf(spec).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
}

/** The body completing one command table's words (after its name and subcommand). */
function tableCompletion(table: CommandTable, program: string, indent: string): string[] {
  const all = { ...table.options, ...COMMON_OPTIONS, ...helpOnlyOptions(program) };
  const visible = Object.entries(all).filter(([, s]) => !s.hidden);
  const out: string[] = [];
  const takesNext = visible.filter(([, s]) => !s.optionalValue && s.type !== "boolean" && s.type !== "count");
  const withValue = visible.filter(([, s]) => s.type !== "boolean" && s.type !== "count");
  // After `--`: a command, then its arguments (files); without pass-through, `--` only ends options.
  out.push(`if ((dd)); then`);
  if (table.passThrough) out.push(`  if ((COMP_CWORD == dd + 1)); then _hardshell_commands; else _hardshell_files -f; fi`);
  else out.push((table.maxPositionals ?? Infinity) > 0 ? `  _hardshell_files -f` : `  :`);
  out.push(`  return 0`, `fi`);
  // `--opt=VALUE` (COMP_WORDBREAKS may or may not split at "=").
  out.push(`if [[ -n $eqopt ]]; then`, `  case "$eqopt" in`);
  for (const [name, spec] of withValue) out.push(`    ${namesOf(name, spec).filter((n) => n.startsWith("--")).join("|")}) ${valueCompletion(spec)} ;;`);
  out.push(`  esac`, `  return 0`, `fi`);
  // `--opt VALUE`: the word after an option that takes the next word is its value.
  if (takesNext.length) {
    out.push(`case "$prev" in`);
    for (const [name, spec] of takesNext) out.push(`  ${namesOf(name, spec).join("|")}) ${valueCompletion(spec)}; return 0 ;;`);
    out.push(`esac`);
  }
  const opts = visible.map(([n]) => `--${n}`).sort();
  out.push(`if [[ $cur == -* ]]; then _hardshell_words ${sq(opts.join(" "))}; return 0; fi`);
  out.push((table.maxPositionals ?? Infinity) > 0 ? `_hardshell_files -f` : `:`);
  return out.map((l) => indent + l);
}

/**
 * A bash completion script for `program`. With subcommands, the first word
 * picks the table whose options are completed.
 */
export function renderBashCompletion(program: string, tables: CommandTable[], subcommands: string[] = []): string {
  const fn = `_hardshell_${program.replace(/[^A-Za-z0-9_]/g, "_")}`;
  const lines: string[] = [
    `# bash completion for ${program} (generated by \`${program} --completion\`)`,
    `# Completion helpers; they fill COMPREPLY from $cur and put the "--opt=" prefix ($pre) back.`,
    `_hardshell_words() { local IFS=$' \\t\\n'; mapfile -t COMPREPLY < <(compgen -P "$pre" -W "$1" -- "$cur"); }`,
    `_hardshell_files() { compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -P "$pre" "$1" -- "$cur"); }`,
    `_hardshell_commands() { mapfile -t COMPREPLY < <(compgen -c -- "$cur"); }`,
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" pre="" eqopt="" dd=0 i start=1`,
    `  COMPREPLY=()`,
    `  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"`,
    `  # "--format=js": one word, or three ("--format" "=" "js") when COMP_WORDBREAKS holds "=".`,
    `  if [[ $cur == --*=* ]]; then eqopt="\${cur%%=*}"; pre="$eqopt="; cur="\${cur#*=}"`,
    `  elif [[ $cur == = && $prev == --* ]]; then eqopt="$prev"; cur=""`,
    `  elif [[ $prev == = ]] && ((COMP_CWORD > 1)) && [[ \${COMP_WORDS[COMP_CWORD-2]} == --* ]]; then eqopt="\${COMP_WORDS[COMP_CWORD-2]}"`,
    `  fi`,
  ];
  if (subcommands.length) {
    lines.push(
      `  if ((COMP_CWORD == 1)); then`,
      `    if [[ $cur == -* ]]; then _hardshell_words "--help --version --completion"; else _hardshell_words ${sq(subcommands.join(" "))}; fi`,
      `    return 0`,
      `  fi`,
      `  start=2`,
    );
  }
  lines.push(`  for ((i = start; i < COMP_CWORD; i++)); do [[ \${COMP_WORDS[i]} == -- ]] && { dd=$i; break; }; done`);
  if (subcommands.length) {
    lines.push(`  case "\${COMP_WORDS[1]}" in`);
    subcommands.forEach((name, i) => {
      lines.push(`  ${sq(name)})`, ...tableCompletion(tables[i]!, program, "    "), `    ;;`);
    });
    lines.push(`  esac`);
  } else {
    lines.push(...tableCompletion(tables[0]!, program, "  "));
  }
  lines.push(`}`, `complete -F ${fn} ${program}`);
  if (program === "git-lock") {
    lines.push(
      `# \`git lock ...\`: git's completion (git-completion.bash) calls _git_<command> with its words/cword set.`,
      `# shellcheck disable=SC2154 # words and cword are git-completion.bash's`,
      `_git_lock() {`,
      `  local i=1 j`,
      `  while ((i < cword)) && [[ \${words[i]} != lock ]]; do ((i++)); done`,
      `  local -a COMP_WORDS=(git-lock "\${words[@]:i+1}")`,
      `  local COMP_CWORD=$((cword - i))`,
      `  ${fn}`,
      `  # git registers its completion with -o nospace: add the space (or the "/" after a directory) __gitcomp would.`,
      `  for j in "\${!COMPREPLY[@]}"; do`,
      `    if [[ -d \${COMPREPLY[j]} ]]; then COMPREPLY[j]+=/; elif [[ \${COMPREPLY[j]} != *= ]]; then COMPREPLY[j]+=" "; fi`,
      `  done`,
      `}`,
    );
  }
  lines.push(``);
  return lines.join("\n");
}
