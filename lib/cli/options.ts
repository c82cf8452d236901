/**
 * Option tables and the hot-path argv parser.
 *
 * Every command declares its options ONCE, as a yargs option table
 * (`CommandTable`). The hot path parses argv with yargs-parser (yargs' own
 * parser) from that table; full yargs is loaded lazily only to render
 * `--help` (lib/cli/help.ts). Loading yargs eagerly cost ~50 ms per call,
 * which matters for commands that run inside shell loops (design.md §2.5).
 *
 * Parsing is strict: an unknown option, a missing value, a value outside
 * `choices` or a non-numeric number is a UsageError (exit 64). Values are
 * never coerced silently: `parse-numbers` is off, so `--param x=007` stays text.
 *
 * `optionalValue` options (`--backup[=SUFFIX]`, `--checkpoint[=MODE]`) take a
 * value only in the `--opt=VALUE` form, so `--backup FILE` never eats FILE.
 *
 * An option that takes a value always takes the next word, as getopt_long(3)
 * does for a required argument, even when that word looks like an option:
 * `--arg -h` binds "-h", `--name --version` names "--version", `--timeout -5s`
 * is a bad duration. Only `--` is never a value: it ends option parsing. So
 * help and version are asked for only by option words (`optionWords`), never
 * by a value, and yargs-parser (which would read `--arg -h` as `--arg` without
 * a value plus `-h`) is handed `--arg=-h`.
 */
// The browser build is yargs-parser without its Node config-file loader (which
// imports util/path/fs/module): measured 3.5 ms vs 5.7 ms for a compiled no-op.
import yargsParser from "yargs-parser/browser";
import { UsageError } from "../core/errors";

export interface OptionSpec {
  type: "string" | "boolean" | "number" | "array" | "count";
  describe: string;
  alias?: string | string[];
  default?: unknown;
  choices?: readonly string[];
  /** `--opt` alone or `--opt=VALUE`; the next word is never taken as the value. Value when alone: "". */
  optionalValue?: boolean;
  /** Help group heading, e.g. "Retry budget:". */
  group?: string;
  hidden?: boolean;
  /** What bash completion offers for the value (choices are offered anyway): file names, directories, or these words. */
  complete?: "file" | "dir" | readonly string[];
}

export type OptionTable = Record<string, OptionSpec>;

export interface CommandTable {
  /** Program name as shown, e.g. "sqlite-exec" or "git-lock status". */
  command: string;
  /** Usage lines, `$0` stands for the command. */
  usage: string[];
  description: string;
  /** At least two real examples: [command line, what it does]. */
  examples: [string, string][];
  options: OptionTable;
  /** Maximum number of positionals (Infinity for any). */
  maxPositionals?: number;
  /** Accepts `-- CMD [ARG...]`. */
  passThrough?: boolean;
  epilog?: string;
}

/** Options every command has (design.md §2.2). */
export const COMMON_OPTIONS: OptionTable = {
  help: { type: "boolean", alias: "h", describe: "Show this help and exit" },
  version: { type: "boolean", describe: "Print the command's version and exit" },
};

export interface ParsedArgs {
  opts: Record<string, unknown>;
  positionals: string[];
  /** Words after `--`, or undefined when there was no `--`. */
  rest?: string[];
}

function aliasesOf(spec: OptionSpec): string[] {
  return spec.alias === undefined ? [] : Array.isArray(spec.alias) ? spec.alias : [spec.alias];
}

/** Takes a value in the next word when given without `=VALUE`. */
function takesValue(spec: OptionSpec): boolean {
  return !spec.optionalValue && spec.type !== "boolean" && spec.type !== "count";
}

interface HeadScan {
  /** The words before `--`, with every separate option value joined to its option as `--name=VALUE`. */
  words: string[];
  /** The words before `--` that are options or positionals, i.e. not the value of an option. */
  optionWords: string[];
}

/**
 * Walk the words before `--` the way the parser will: `--name VALUE`, `-n VALUE`
 * and `-qn VALUE` (a short group ending in an option that takes a value) consume
 * VALUE whatever it looks like. Unknown options consume nothing.
 */
function scanHead(options: OptionTable, head: readonly string[]): HeadScan {
  const { known, canonical } = nameMaps(options);
  const words: string[] = [];
  const optionWords: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const w = head[i]!;
    optionWords.push(w);
    let name: string | undefined;
    let prefix: string[] = [];
    if (w.startsWith("--") && !w.includes("=")) {
      name = w.slice(2);
    } else if (w.length >= 2 && w[0] === "-" && w[1] !== "-" && !w.includes("=")) {
      // `-n` or a group `-qn`: only the last letter may take the next word.
      const letters = w.slice(1);
      const last = letters.slice(-1);
      const rest = letters.slice(0, -1);
      if ([...rest].every((c) => known.has(c) && !takesValue(known.get(c)!))) {
        name = last;
        if (rest) prefix = [`-${rest}`];
      }
    }
    const spec = name === undefined ? undefined : known.get(name);
    if (spec && takesValue(spec) && i + 1 < head.length) {
      words.push(...prefix, `--${canonical.get(name!)}=${head[i + 1]!}`);
      i++;
      continue;
    }
    if (spec && spec.optionalValue && w.startsWith("--")) {
      words.push(`${w}=`); // `--opt` alone: yargs-parser must not take the next word
      continue;
    }
    words.push(w);
  }
  return { words, optionWords };
}

const nameMapCache = new WeakMap<OptionTable, { known: Map<string, OptionSpec>; canonical: Map<string, string> }>();
/** Every accepted name (long and alias) -> its spec and canonical name; cached per table (help, version and parse all ask). */
function nameMaps(options: OptionTable): { known: Map<string, OptionSpec>; canonical: Map<string, string> } {
  let m = nameMapCache.get(options);
  if (m) return m;
  m = { known: new Map(), canonical: new Map() };
  for (const [name, spec] of Object.entries(options)) {
    m.known.set(name, spec);
    m.canonical.set(name, name);
    for (const a of aliasesOf(spec)) {
      m.known.set(a, spec);
      m.canonical.set(a, name);
    }
  }
  nameMapCache.set(options, m);
  return m;
}

const allOptionsCache = new WeakMap<CommandTable, OptionTable>();
function allOptions(table: CommandTable): OptionTable {
  let o = allOptionsCache.get(table);
  if (!o) allOptionsCache.set(table, (o = { ...COMMON_OPTIONS, ...table.options }));
  return o;
}

/** The option words and positionals of argv: what precedes `--`, minus the values of options. */
export function optionWords(table: CommandTable | undefined, argv: readonly string[]): string[] {
  const dashdash = argv.indexOf("--");
  const head = dashdash === -1 ? argv : argv.slice(0, dashdash);
  if (!table) return [...head];
  return scanHead(allOptions(table), head).optionWords;
}

/** Parse argv (without the program name) against a table. Throws UsageError. */
export function parseArgs(table: CommandTable, argv: readonly string[]): ParsedArgs {
  const options: OptionTable = allOptions(table);
  const dashdash = argv.indexOf("--");
  const head = dashdash === -1 ? [...argv] : argv.slice(0, dashdash);
  const rest = dashdash === -1 ? undefined : argv.slice(dashdash + 1);

  const cfg: yargsParser.Options = {
    boolean: [],
    string: [],
    number: [],
    array: [],
    count: [],
    alias: {},
    configuration: {
      "boolean-negation": false,
      "camel-case-expansion": false,
      "dot-notation": false,
      "parse-numbers": false,
      "parse-positional-numbers": false,
      "duplicate-arguments-array": true,
      "flatten-duplicate-arrays": true,
      "greedy-arrays": false,
      "short-option-groups": true,
      "strip-aliased": true,
      "halt-at-non-option": false,
    },
  };
  const known = new Map<string, string>(); // any accepted name -> canonical key
  for (const [name, spec] of Object.entries(options)) {
    known.set(name, name);
    for (const a of aliasesOf(spec)) known.set(a, name);
    if (aliasesOf(spec).length) (cfg.alias as Record<string, string[]>)[name] = aliasesOf(spec);
    if (spec.optionalValue) continue; // handled below, by rewriting argv
    const t = spec.type === "number" ? "string" : spec.type; // numbers validated here, not coerced
    (cfg[t] as string[]).push(name);
  }

  // `--opt VALUE` -> `--opt=VALUE` (VALUE may look like an option); `--opt` (optional value, alone) -> `--opt=`.
  const words = scanHead(options, head).words;
  for (const [name, spec] of Object.entries(options)) if (spec.optionalValue) (cfg.string as string[]).push(name);

  const fast = fastParse(options, known, head);
  let argvOut: Record<string, unknown>;
  let parsedPositionals: unknown[];
  if (fast) {
    argvOut = fast.opts;
    parsedPositionals = fast.positionals;
  } else {
    const parsed = yargsParser.detailed(words, cfg);
    if (parsed.error) {
      throw new UsageError({ what: parsed.error.message, hint: `see ${table.command} --help` });
    }
    argvOut = parsed.argv as Record<string, unknown>;
    parsedPositionals = parsed.argv._;
  }
  const opts: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(argvOut)) {
    if (key === "_" || key === "--" || key === "$0") continue;
    const canonical = known.get(key);
    if (!canonical) {
      throw new UsageError({
        what: "unknown option",
        subject: key.length === 1 ? `-${key}` : `--${key}`,
        hint: `see ${table.command} --help`,
      });
    }
    opts[canonical] = value;
  }
  for (const [name, spec] of Object.entries(options)) {
    let v = opts[name];
    if (v === undefined) {
      if (spec.default !== undefined) opts[name] = spec.default;
      continue;
    }
    if (spec.type === "string" || spec.type === "number") {
      if (Array.isArray(v)) {
        throw new UsageError({ what: "option given more than once", subject: `--${name}`, hint: `see ${table.command} --help` });
      }
      if (typeof v !== "string" || (v === "" && !spec.optionalValue)) {
        throw new UsageError({ what: "option needs a value", subject: `--${name}`, hint: `see ${table.command} --help` });
      }
    }
    if (spec.type === "array") {
      v = (v as unknown[]).map(String);
      opts[name] = v;
    }
    if (spec.type === "number") {
      const n = Number(v);
      if (!/^-?\d+(\.\d+)?$/.test(String(v).trim()) || !Number.isFinite(n)) {
        throw new UsageError({ what: `--${name} needs a number`, subject: JSON.stringify(v) });
      }
      opts[name] = n;
    }
    if (spec.choices && v !== "" && !(spec.choices as readonly unknown[]).includes(v)) {
      throw new UsageError({
        what: `invalid value for --${name}`,
        subject: JSON.stringify(v),
        hint: `choose from ${spec.choices.join(", ")}`,
      });
    }
  }
  const positionals = parsedPositionals.map(String);
  const max = table.maxPositionals ?? Infinity;
  if (positionals.length > max) {
    throw new UsageError({ what: "unexpected argument", subject: JSON.stringify(positionals[max]), hint: `see ${table.command} --help` });
  }
  if (rest !== undefined && !table.passThrough) {
    // `--` only ends option parsing: what follows is positional.
    positionals.push(...rest);
    if (positionals.length > max) {
      throw new UsageError({ what: "unexpected argument", subject: JSON.stringify(positionals[max]), hint: `see ${table.command} --help` });
    }
    return { opts, positionals };
  }
  return { opts, positionals, rest };
}

/**
 * Hot-path parser for the plain argv shape shell loops use: positionals and
 * long options by their table names (`--name`, `--name value`, `--name=value`).
 * yargs-parser's first call costs ~1.2 ms in a compiled binary (measured), a
 * large share of a trivial call's budget (design.md §2.5). Anything less plain
 * (short options, `--`, `-`, repeated booleans, unknown names) returns
 * undefined and goes through yargs-parser, so both
 * paths agree on every argv the fast one accepts; the validation after parsing
 * is shared.
 */
function fastParse(
  options: OptionTable,
  known: Map<string, string>,
  head: readonly string[],
): { opts: Record<string, unknown>; positionals: string[] } | undefined {
  const opts: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const w = head[i]!;
    if (w === "" || w === "-" || w === "--" || (w.startsWith("-") && !w.startsWith("--"))) return undefined;
    if (!w.startsWith("--")) {
      positionals.push(w);
      continue;
    }
    const eq = w.indexOf("=");
    const name = eq < 0 ? w.slice(2) : w.slice(2, eq);
    const key = known.get(name);
    if (key === undefined || name.length < 2) return undefined;
    const spec = options[key]!;
    let value: string | boolean;
    if (spec.type === "boolean") {
      if (eq >= 0 || key in opts) return undefined;
      value = true;
    } else if (spec.type === "count") {
      return undefined;
    } else if (eq >= 0) {
      value = w.slice(eq + 1);
    } else if (spec.optionalValue) {
      value = "";
    } else {
      const next = head[i + 1];
      if (next === undefined) return undefined;
      value = next; // whatever it looks like (head holds no `--`)
      i++;
    }
    const prev = opts[key];
    if (spec.type === "array") opts[key] = prev === undefined ? [value] : [...(prev as string[]), value];
    else if (prev !== undefined) opts[key] = [...([] as unknown[]).concat(prev), value]; // "given more than once" below
    else opts[key] = value;
  }
  return { opts, positionals };
}

/**
 * True when argv asks for help (checked before strict parsing so `--help` always
 * works). With `table`, a `-h` or `--help` that is an option's value is a value.
 */
export function wantsHelp(argv: readonly string[], table?: CommandTable): boolean {
  const words = optionWords(table, argv);
  return words.includes("--help") || words.includes("-h");
}

/** True when argv asks for the version; with `table`, not when `--version` is an option's value. */
export function wantsVersion(argv: readonly string[], table?: CommandTable): boolean {
  return optionWords(table, argv).includes("--version");
}
