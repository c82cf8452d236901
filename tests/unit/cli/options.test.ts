import { describe, expect, test } from "bun:test";
import { defineCommand, optionWords, parseArgs, wantsHelp, wantsVersion, type CommandTable, type OptionTable } from "../../../lib/cli/options";
import { UsageError } from "../../../lib/core/errors";
import { thrownBy } from "../_helpers";

const table = defineCommand({
  command: "demo",
  usage: ["$0 [opts] FILE"],
  description: "test table",
  examples: [
    ["demo f", "one"],
    ["demo g", "two"],
  ],
  options: {
    mode: { type: "string", describe: "octal mode" },
    backup: { type: "string", optionalValue: true, describe: "keep old" },
    param: { type: "array", describe: "repeatable" },
    retries: { type: "number", describe: "n", default: 8 },
    quiet: { type: "boolean", alias: "q", describe: "q" },
    format: { type: "string", choices: ["tsv", "csv"], default: "tsv", describe: "f" },
    "no-fsync": { type: "boolean", describe: "skip fsync" },
  },
  maxPositionals: 1,
  passThrough: true,
});

/** A command with no help text, for tests where only its options and arguments matter. */
const bareCommand = <const O extends OptionTable>(command: string, options: O, args: Pick<CommandTable, "maxPositionals" | "passThrough">) =>
  defineCommand({ command, usage: [], description: "", examples: [], options, ...args });

const usageError = (argv: string[], t: CommandTable = table): UsageError => thrownBy(UsageError, () => parseArgs(t, argv));

describe("parseArgs", () => {
  test("parses options, positionals and the words after --", () => {
    const r = parseArgs(table, ["--mode", "0644", "-q", "f", "--", "ls", "-l", "--mode"]);
    expect(r.opts.mode).toBe("0644");
    expect(r.opts.quiet).toBe(true);
    expect(r.positionals).toEqual(["f"]);
    expect(r.rest).toEqual(["ls", "-l", "--mode"]);
  });
  test("defaults apply and numbers are validated, never silently coerced", () => {
    expect(parseArgs(table, ["f"]).opts.retries).toBe(8);
    expect(parseArgs(table, ["--retries", "3", "f"]).opts.retries).toBe(3);
    expect(usageError(["--retries", "abc", "f"]).message).toContain('"abc"');
  });
  test("an optional-value option never eats the next word", () => {
    const r = parseArgs(table, ["--backup", "f"]);
    expect(r.opts.backup).toBe("");
    expect(r.positionals).toEqual(["f"]);
    expect(parseArgs(table, ["--backup=.bak", "f"]).opts.backup).toBe(".bak");
  });
  test("repeatable options collect in order", () => {
    expect(parseArgs(table, ["--param", "a=1", "--param", "b=2", "f"]).opts.param).toEqual(["a=1", "b=2"]);
  });
  test("--no-x options are literal booleans, not negations", () => {
    expect(parseArgs(table, ["--no-fsync", "f"]).opts["no-fsync"]).toBe(true);
  });
  test("values keep leading zeros and look-alike numbers as text", () => {
    expect(parseArgs(table, ["--param", "x=007", "f"]).opts.param).toEqual(["x=007"]);
  });
  test("unknown options, missing values, bad choices and extra arguments are usage errors", () => {
    expect(usageError(["--bogus", "f"]).message).toContain("--bogus");
    expect(usageError(["f", "--mode"]).message).toContain("--mode");
    expect(usageError(["--format", "xml", "f"]).message).toContain("tsv, csv");
    expect(usageError(["f", "g"]).message).toContain('"g"');
    expect(usageError(["--mode", "1", "--mode", "2", "f"]).message).toContain("more than once");
  });
  test("help is seen before -- only", () => {
    expect(wantsHelp(["f", "--help"])).toBe(true);
    expect(wantsHelp(["f", "--", "ls", "--help"])).toBe(false);
  });
});

describe("parseArgs fast path agrees with yargs-parser", () => {
  // The fast path handles plain long options; adding a short option forces the yargs-parser path.
  const cases: string[][] = [
    ["f"],
    ["--mode", "0644", "f"],
    ["--mode=0644", "f"],
    ["--param", "a=1", "--param=b=2", "f"],
    ["--backup", "f"],
    ["--backup=.bak", "f"],
    ["--retries", "3", "--format", "csv", "--no-fsync", "f"],
  ];
  for (const argv of cases) {
    test(argv.join(" "), () => {
      const fast = parseArgs(table, argv);
      const slow = parseArgs(table, [...argv, "-q"]);
      expect(slow.opts.quiet).toBe(true);
      expect(fast.opts.quiet).toBe(false);
      delete (slow.opts as Record<string, unknown>).quiet;
      delete (fast.opts as Record<string, unknown>).quiet;
      expect(fast.opts).toEqual(slow.opts);
      expect(fast.positionals).toEqual(slow.positionals);
    });
  }
  test("errors are the same on both paths", () => {
    expect(usageError(["--mode", "1", "--mode", "2", "f"]).message).toContain("more than once");
    expect(usageError(["--retries", "x", "f"]).message).toContain('"x"');
    expect(usageError(["--format", "xml", "f"]).message).toContain("tsv, csv");
    expect(usageError(["--bogus", "f"]).message).toContain("--bogus");
  });
});

describe("an option that takes a value takes the next word, whatever it looks like", () => {
  const t = defineCommand({
    ...table,
    options: { ...table.options, name: { type: "string", alias: "n", describe: "n" }, arg: { type: "array", alias: "a", describe: "a" } },
  });
  const looksLikeOptions = ["-h", "--help", "--version", "-5s", "-q", "--mode", "-"];
  for (const v of looksLikeOptions) {
    test(`--name ${v} / -n ${v} / -qn ${v} / --arg ${v}, on both parser paths`, () => {
      expect(parseArgs(t, ["--name", v, "f"]).opts.name).toBe(v); // fast path
      expect(parseArgs(t, ["-q", "--name", v, "f"]).opts.name).toBe(v); // yargs-parser path
      expect(parseArgs(t, ["-n", v, "f"]).opts.name).toBe(v);
      const g = parseArgs(t, ["-qn", v, "f"]);
      expect(g.opts.name).toBe(v);
      expect(g.opts.quiet).toBe(true);
      expect(parseArgs(t, ["--arg", v, "-a", v, "f"]).opts.arg).toEqual([v, v]);
      expect(parseArgs(t, ["--arg", v, "f"]).positionals).toEqual(["f"]);
    });
  }
  test("a value is never a help or version request; an option word still is", () => {
    expect(wantsHelp(["--name", "-h", "f"], t)).toBe(false);
    expect(wantsHelp(["--arg", "--help"], t)).toBe(false);
    expect(wantsHelp(["-n", "-h"], t)).toBe(false);
    expect(wantsVersion(["--name", "--version"], t)).toBe(false);
    expect(wantsHelp(["--name", "x", "-h"], t)).toBe(true);
    expect(wantsHelp(["--quiet", "--help"], t)).toBe(true); // a boolean takes no value
    expect(wantsHelp(["--backup", "--help"], t)).toBe(true); // nor does an optional-value option alone
    expect(wantsVersion(["f", "--version"], t)).toBe(true);
    expect(optionWords(t, ["--name", "-h", "f", "--", "--help"])).toEqual(["--name", "f"]);
  });
  test("-- ends option parsing: it is never a value, and a value-taking option before it has none", () => {
    expect(usageError(["f", "--mode", "--", "x"]).message).toContain("--mode");
    expect(wantsHelp(["--mode", "--", "-h"], t)).toBe(false);
    const r = parseArgs(t, ["--name", "-h", "--", "cmd", "--name", "x"]);
    expect(r.opts.name).toBe("-h");
    expect(r.rest).toEqual(["cmd", "--name", "x"]);
  });
  test("a value that looks like an option is still validated as a value", () => {
    expect(usageError(["--retries", "-h", "f"]).message).toContain('"-h"');
    expect(usageError(["--format", "--help", "f"]).message).toContain("tsv, csv");
  });
});

describe("typed option kinds: one bad-value wording for every option", () => {
  const t = bareCommand(
    "kinds",
    {
      timeout: { type: "string", kind: "duration", default: "30s", describe: "d" },
      stale: { type: "string", kind: "duration", requires: "lock", describe: "d" },
      lock: { type: "boolean", describe: "b" },
      batch: { type: "number", kind: "count", min: 1, describe: "c" },
      retries: { type: "number", kind: "count", default: 8, describe: "c" },
      format: { type: "string", choices: ["tsv", "csv"], default: "tsv", describe: "f" },
      sync: { type: "string", choices: ["OFF", "FULL"] as const, ignoreCase: true, describe: "s" },
      checkpoint: { type: "string", optionalValue: true, choices: ["PASSIVE", "FULL"], ignoreCase: true, describe: "c" },
      mode: { type: "string", pattern: /^[0-7]{1,4}$/, expect: "octal, e.g. 0644", describe: "m" },
      edit: { type: "boolean", conflicts: ["append"], describe: "e" },
      append: { type: "boolean", describe: "a" },
      param: { type: "array", describe: "p" },
    },
    { maxPositionals: 2 },
  );
  test("values come back converted, typed by the table: durations in ms, counts as numbers, booleans and arrays always present", () => {
    const r = parseArgs(t, ["--timeout", "1.5s", "--batch", "500", "db"]);
    const timeout: number = r.opts.timeout;
    const batch: number | undefined = r.opts.batch;
    const edit: boolean = r.opts.edit;
    const param: string[] = r.opts.param;
    const sync: "OFF" | "FULL" | undefined = r.opts.sync;
    expect([timeout, batch, edit, param, sync]).toEqual([1500, 500, false, [], undefined]);
    expect(r.opts.retries).toBe(8);
    expect(parseArgs(t, []).opts.timeout).toBe(30_000); // a default written as text is converted too
  });
  test("given lists what was on the command line, not defaults", () => {
    const r = parseArgs(t, ["--retries", "3", "x"]);
    expect([...r.given]).toEqual(["retries"]);
    expect(r.given.has("timeout")).toBe(false);
  });
  test("choices with ignoreCase come back as listed", () => {
    expect(parseArgs(t, ["--sync", "full"]).opts.sync).toBe("FULL");
    expect(parseArgs(t, ["--checkpoint=full"]).opts.checkpoint).toBe("FULL");
    expect(parseArgs(t, ["--checkpoint"]).opts.checkpoint).toBe("");
  });
  const bad: [string[], string][] = [
    [["--timeout", "-5s"], 'bad value for --timeout: "-5s" (a duration such as 250ms, 10s, 5m)'],
    [["--timeout=soon"], 'bad value for --timeout: "soon" (a duration such as 250ms, 10s, 5m)'],
    [["--batch", "0"], 'bad value for --batch: "0" (a whole number >= 1)'],
    [["--retries", "1.5"], 'bad value for --retries: "1.5" (a whole number >= 0)'],
    [["--format", "xml"], 'bad value for --format: "xml" (one of tsv, csv)'],
    [["-q", "--format", "xml"], 'unknown option: -q (see kinds --help)'],
    [["--sync", "sometimes"], 'bad value for --sync: "sometimes" (one of OFF, FULL)'],
    [["--mode", "999"], 'bad value for --mode: "999" (octal, e.g. 0644)'],
    [["--edit", "--append"], "conflicting options: --edit and --append (give one or the other)"],
    [["--stale", "5s"], "--stale needs --lock (add --lock, or drop --stale)"],
  ];
  for (const [argv, msg] of bad) {
    test(`${argv.join(" ")} -> ${msg}`, () => {
      const e = usageError(argv, t);
      expect(e.message).toBe(msg);
      expect(e.exitCode).toBe(64);
    });
  }
  test("both parser paths give the same bad-value message", () => {
    expect(usageError(["-h", "--timeout", "-5s"], t).message).toBe(usageError(["--timeout", "-5s"], t).message);
    expect(usageError(["-h", "--batch", "0"], t).message).toBe(usageError(["--batch=0"], t).message);
  });
});

describe("a forgotten `--` is named in the hint", () => {
  const run = bareCommand("git-lock run", { name: { type: "string", describe: "n" } }, { maxPositionals: 0, passThrough: true });
  test("an extra word in a command that takes -- CMD", () => {
    expect(usageError(["sleep", "1"], run).message).toBe('unexpected argument: "sleep" (did you forget `--` before "sleep"?)');
  });
  test("an unknown option that belongs to the command", () => {
    expect(usageError(["f", "sh", "-c", "echo"]).message).toBe('unknown option: -c (did you forget `--` before "sh"?)');
  });
  test("an unknown option with no extra words keeps the help hint", () => {
    expect(usageError(["--bogus", "f"]).message).toBe("unknown option: --bogus (see demo --help)");
  });
  test("a choice after a bare optional-value option is noted, on both parser paths", () => {
    const t = bareCommand("x", { checkpoint: { type: "string", optionalValue: true, choices: ["PASSIVE", "FULL"], ignoreCase: true, describe: "c" } }, { maxPositionals: 2 });
    expect(parseArgs(t, ["db", "--checkpoint", "FULL"]).notes).toEqual(["did you mean --checkpoint=FULL?"]);
    expect(parseArgs(t, ["db", "-h", "--checkpoint", "full"]).notes).toEqual(["did you mean --checkpoint=full?"]);
    expect(parseArgs(t, ["db", "--checkpoint", "other.db"]).notes).toEqual([]);
  });
});
