/**
 * Option tables and the hot-path argv parser.
 *
 * Every command declares its options ONCE, as an option table (`CommandTable`,
 * in yargs' vocabulary). `--help`, completion and the man page are rendered
 * from it by lib/cli/help.ts and lib/cli/man.ts, loaded only when asked for.
 * Plain `--long VALUE` argv takes a hand-written fast path; anything else
 * (short options, groups, `-`) goes through yargs-parser (yargs' own parser,
 * without full yargs, which cost ~50 ms per call to load: design.md §2.5).
 *
 * Parsing is strict: an unknown option, a missing value, a value outside
 * `choices` or a non-numeric number is a UsageError (exit 64). Values are
 * never coerced silently: `parse-numbers` is off, so `--param x=007` stays text.
 *
 * The table is typed: each option's value type follows from its spec
 * (`OptsOf`), so a command reads `opts.timeout` as a number of ms without a
 * cast. Value kinds are checked here, once, with one wording for every bad
 * value (`badValue`, lib/core/errors.ts):
 *   kind "duration"   text like 250ms, 10s, 5m (design.md §2.3) -> whole ms
 *   kind "count"      a whole number >= `min` (default 0)
 *   type "number"     a decimal number
 *   choices           one of a list (`ignoreCase`: given in any case, returned as listed)
 *   pattern           a RegExp the text must match; `expect` says what that means
 *   conflicts         options that cannot be given together with this one
 *   requires          an option that must be given with this one
 * Booleans are false and arrays empty when not given; `given` tells which
 * options were on the command line (not just defaulted).
 *
 * A forgotten `--` is the likeliest cause of some errors, so those carry a
 * "did you forget `--`?" hint: an unknown option or an extra word in a
 * command that takes `-- CMD`, and a word after a bare optional-value option
 * that is one of its values (`--checkpoint FULL`: "did you mean
 * --checkpoint=FULL?", `notes`, which runMain adds to any later usage error).
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
import { badValue, UsageError } from "../core/errors";
import { durationMs, DURATION_EXAMPLES } from "../core/duration";

export interface OptionSpec {
  /** How the option is written and shown in --help ("count" is yargs' repeat counter; no command uses it). */
  type: "string" | "boolean" | "number" | "array" | "count";
  /** What the value means; the parsed value is a number for both. */
  kind?: "duration" | "count";
  /** Smallest accepted value of a "count" (default 0). */
  min?: number;
  /** The text must match; `expect` describes a good value for the error's hint. */
  pattern?: RegExp;
  expect?: string;
  /** Options that cannot be given together with this one. */
  conflicts?: readonly string[];
  /** An option that must be given when this one is. */
  requires?: string;
  describe: string;
  alias?: string | readonly string[];
  default?: unknown;
  choices?: readonly string[];
  /** Accept `choices` in any case; the value is returned as spelled in `choices`. */
  ignoreCase?: boolean;
  /** `--opt` alone or `--opt=VALUE`; the next word is never taken as the value. Value when alone: "". */
  optionalValue?: boolean;
  /** Help group heading, e.g. "Retry budget:". */
  group?: string;
  hidden?: boolean;
  /** What bash completion offers for the value (choices are offered anyway): file names, directories, or these words. */
  complete?: "file" | "dir" | readonly string[];
}

export type OptionTable = Record<string, OptionSpec>;

/** The parsed value type of one option spec. */
export type ValueOf<S extends OptionSpec> = S extends { kind: "duration" | "count" }
  ? number
  : S extends { type: "boolean" }
    ? boolean
    : S extends { type: "number" | "count" }
      ? number
      : S extends { type: "array" }
        ? string[]
        : S extends { choices: readonly (infer C extends string)[] }
          ? C | (S extends { optionalValue: true } ? "" : never)
          : string;

/** Parsed options of a table: always present for booleans, arrays and options with a default; else possibly undefined. */
export type OptsOf<O extends OptionTable> = {
  -readonly [K in keyof O]: O[K] extends { type: "boolean" | "array" } | { default: {} } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface CommandTable<O extends OptionTable = OptionTable> {
  /** Program name as shown, e.g. "sqlite-exec" or "git-lock status". */
  command: string;
  /** Usage lines, `$0` stands for the command. */
  usage: string[];
  description: string;
  /** At least two real examples: [command line, what it does]. */
  examples: [string, string][];
  options: O;
  /** Maximum number of positionals (Infinity for any). */
  maxPositionals?: number;
  /** Accepts `-- CMD [ARG...]`. */
  passThrough?: boolean;
  /** Environment variables the command reads: [NAME or NAME=VALUE, what it does]; --help lists them before the epilog, the man page under ENVIRONMENT. */
  environment?: [string, string][];
  epilog?: string;
}

/** A command table with its option types kept, so `parseArgs` can type what it returns. */
export function defineCommand<const O extends OptionTable>(table: CommandTable<O>): CommandTable<O> {
  return table;
}

/** Options every command has (design.md §2.2). */
export const COMMON_OPTIONS: OptionTable = {
  help: { type: "boolean", alias: "h", describe: "Show this help and exit" },
  version: { type: "boolean", describe: "Print the command's version and exit" },
};

export interface ParsedArgs<O extends OptionTable = OptionTable> {
  opts: OptsOf<O>;
  positionals: string[];
  /** Words after `--`, or undefined when there was no `--`. */
  rest?: string[];
  /** Options given on the command line (canonical names), as opposed to defaulted. */
  given: ReadonlySet<string>;
  /** "did you mean ...?" notes for a usage error found later (e.g. `--checkpoint FULL`). */
  notes: string[];
}

function aliasesOf(spec: OptionSpec): readonly string[] {
  return spec.alias === undefined ? [] : typeof spec.alias === "string" ? [spec.alias] : spec.alias;
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
  /** `--opt VALUE` where --opt takes its value only as `--opt=VALUE` and VALUE is one of its choices. */
  notes: string[];
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
  const notes: string[] = [];
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
      const next = head[i + 1];
      if (next !== undefined && choiceOf(spec, next) !== undefined) notes.push(`did you mean ${w}=${next}?`);
      continue;
    }
    words.push(w);
  }
  return { words, optionWords, notes };
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

/** `value` as spelled in the spec's choices, or undefined when it is none of them. */
function choiceOf(spec: OptionSpec, value: string): string | undefined {
  if (!spec.choices) return undefined;
  if (spec.choices.includes(value)) return value;
  if (!spec.ignoreCase) return undefined;
  const v = value.toUpperCase();
  return spec.choices.find((c) => c.toUpperCase() === v);
}

/** The hint for a forgotten `--`: the first word that was meant to be the command. */
function forgotDashDash(word: string | undefined): string {
  return word === undefined ? "did you forget `--` before the command?" : `did you forget \`--\` before ${JSON.stringify(word)}?`;
}

/** Validate and convert one given option value (raw text from argv) per its spec. */
function convert(name: string, spec: OptionSpec, v: unknown, command: string): unknown {
  if (spec.type === "string" || spec.type === "number") {
    if (Array.isArray(v)) {
      throw new UsageError({ what: "option given more than once", subject: `--${name}`, hint: `see ${command} --help` });
    }
    if (typeof v !== "string" || (v === "" && !spec.optionalValue)) {
      throw new UsageError({ what: "option needs a value", subject: `--${name}`, hint: `see ${command} --help` });
    }
  }
  if (spec.type === "array") return (v as unknown[]).map(String);
  if (typeof v !== "string") return v;
  if (spec.kind === "duration") {
    const ms = durationMs(v);
    if (ms === undefined) throw badValue(name, v, `a duration such as ${DURATION_EXAMPLES}`);
    return ms;
  }
  if (spec.kind === "count") {
    const min = spec.min ?? 0;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw badValue(name, v, `a whole number >= ${min}`);
    return n;
  }
  if (spec.type === "number") {
    const n = Number(v);
    if (!/^-?\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n)) throw badValue(name, v, "a number");
    return n;
  }
  if (spec.choices && v !== "") {
    const c = choiceOf(spec, v);
    if (c === undefined) throw badValue(name, v, `one of ${spec.choices.join(", ")}`);
    return c;
  }
  if (spec.pattern && !(spec.optionalValue && v === "") && !spec.pattern.test(v)) {
    throw badValue(name, v, spec.expect ?? `text matching ${spec.pattern.source}`);
  }
  return v;
}

/** Parse argv (without the program name) against a table. Throws UsageError. */
export function parseArgs<O extends OptionTable>(table: CommandTable<O>, argv: readonly string[]): ParsedArgs<O> {
  const options: OptionTable = allOptions(table);
  const dashdash = argv.indexOf("--");
  const head = dashdash === -1 ? [...argv] : argv.slice(0, dashdash);
  const rest = dashdash === -1 ? undefined : argv.slice(dashdash + 1);
  const help = `see ${table.command} --help`;

  const known = nameMaps(options).canonical; // any accepted name -> canonical key

  const fast = fastParse(options, known, head);
  let argvOut: Record<string, unknown>;
  let parsedPositionals: unknown[];
  let notes: string[] = [];
  if (fast) {
    argvOut = fast.opts;
    parsedPositionals = fast.positionals;
    notes = fast.notes;
  } else {
    // `--opt VALUE` -> `--opt=VALUE` (VALUE may look like an option); `--opt` (optional value, alone) -> `--opt=`.
    const scan = scanHead(options, head);
    notes = scan.notes;
    const parsed = yargsParser.detailed(scan.words, yargsConfig(options));
    if (parsed.error) throw new UsageError({ what: parsed.error.message, hint: help });
    argvOut = parsed.argv as Record<string, unknown>;
    parsedPositionals = parsed.argv._;
  }
  const positionals = parsedPositionals.map(String);
  const max = table.maxPositionals ?? Infinity;
  // A command that takes `-- CMD` and got more words than it takes, with no `--`: CMD's words were read as ours.
  const forgot = table.passThrough && rest === undefined && positionals.length > max ? forgotDashDash(positionals[max]) : undefined;

  const opts: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [key, value] of Object.entries(argvOut)) {
    if (key === "_" || key === "--" || key === "$0") continue;
    const canonical = known.get(key);
    if (!canonical) {
      throw new UsageError({ what: "unknown option", subject: key.length === 1 ? `-${key}` : `--${key}`, hint: forgot ?? help });
    }
    opts[canonical] = value;
    given.add(canonical);
  }
  for (const [name, spec] of Object.entries(options)) {
    const v = opts[name];
    if (v === undefined) {
      // A default written as text ("30s") is converted like a given value; a typed one (8) is already its value.
      if (typeof spec.default === "string" && spec.kind) opts[name] = convert(name, spec, spec.default, table.command);
      else if (spec.default !== undefined) opts[name] = spec.default;
      else if (spec.type === "boolean") opts[name] = false;
      else if (spec.type === "array") opts[name] = [];
      continue;
    }
    opts[name] = convert(name, spec, v, table.command);
  }
  for (const name of given) {
    const spec = options[name]!;
    for (const other of spec.conflicts ?? []) {
      if (given.has(other)) throw new UsageError({ what: "conflicting options", subject: `--${name} and --${other}`, hint: "give one or the other" });
    }
    if (spec.requires !== undefined && !given.has(spec.requires)) {
      throw new UsageError({ what: `--${name} needs --${spec.requires}`, hint: `add --${spec.requires}, or drop --${name}` });
    }
  }
  if (positionals.length > max) {
    const hint = forgot ?? (notes.length ? `${notes.join("; ")}` : help);
    throw new UsageError({ what: "unexpected argument", subject: JSON.stringify(positionals[max]), hint });
  }
  const result = { opts: opts as OptsOf<O>, positionals, given, notes };
  if (rest !== undefined && !table.passThrough) {
    // `--` only ends option parsing: what follows is positional.
    positionals.push(...rest);
    if (positionals.length > max) {
      throw new UsageError({ what: "unexpected argument", subject: JSON.stringify(positionals[max]), hint: help });
    }
    return result;
  }
  return { ...result, rest };
}

const yargsConfigCache = new WeakMap<OptionTable, yargsParser.Options>();
/** yargs-parser's configuration for a table; only the slow path (short options, `-`, ...) needs it. */
function yargsConfig(options: OptionTable): yargsParser.Options {
  let cfg = yargsConfigCache.get(options);
  if (cfg) return cfg;
  const lists: Record<"boolean" | "string" | "array" | "count", string[]> = { boolean: [], string: [], array: [], count: [] };
  const alias: Record<string, string[]> = {};
  for (const [name, spec] of Object.entries(options)) {
    if (aliasesOf(spec).length) alias[name] = [...aliasesOf(spec)];
    // Numbers are validated by convert(), never coerced; optional values are rewritten by scanHead().
    lists[spec.type === "number" || spec.optionalValue ? "string" : spec.type].push(name);
  }
  cfg = {
    ...lists,
    alias,
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
  yargsConfigCache.set(options, cfg);
  return cfg;
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
): { opts: Record<string, unknown>; positionals: string[]; notes: string[] } | undefined {
  const opts: Record<string, unknown> = {};
  const positionals: string[] = [];
  const notes: string[] = [];
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
      const next = head[i + 1];
      if (next !== undefined && choiceOf(spec, next) !== undefined) notes.push(`did you mean ${w}=${next}?`);
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
  return { opts, positionals, notes };
}

/**
 * True when argv asks for help (checked before strict parsing so `--help` always
 * works). With `table`, a `-h` or `--help` that is an option's value is a value.
 */
export function wantsHelp(argv: readonly string[], table?: CommandTable): boolean {
  // Most calls have neither word at all: answer without scanning the table (start-up).
  if (!argv.includes("--help") && !argv.includes("-h")) return false;
  const words = optionWords(table, argv);
  return words.includes("--help") || words.includes("-h");
}

/** True when argv asks for the version; with `table`, not when `--version` is an option's value. */
export function wantsVersion(argv: readonly string[], table?: CommandTable): boolean {
  if (!argv.includes("--version")) return false;
  return optionWords(table, argv).includes("--version");
}
