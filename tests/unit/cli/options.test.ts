import { describe, expect, test } from "bun:test";
import { optionWords, parseArgs, wantsHelp, wantsVersion, type CommandTable } from "../../../lib/cli/options";
import { UsageError } from "../../../lib/core/errors";

const table: CommandTable = {
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
};

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(table, argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error("expected a UsageError");
}

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
      delete slow.opts.quiet;
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
  const t: CommandTable = {
    ...table,
    options: { ...table.options, name: { type: "string", alias: "n", describe: "n" }, arg: { type: "array", alias: "a", describe: "a" } },
  };
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
