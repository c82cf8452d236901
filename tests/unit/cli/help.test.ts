import { describe, expect, test } from "bun:test";
import { helpWidth, renderBashCompletion, renderHelp, wrap } from "../../../lib/cli/help";
import type { CommandTable } from "../../../lib/cli/options";

const long = "demo-cmd --level 2 --output /a/rather/long/path/to/some/file.txt -- sh -c 'read n; echo $((n+1))'";
const table: CommandTable = {
  command: "demo-cmd",
  usage: ["$0 [opts] FILE          write FILE from stdin, all or nothing, whatever happens meanwhile"],
  description: "Do the demo thing. More text about it, enough of it that it has to wrap at a narrow width somewhere.",
  examples: [
    [long, "a long example whose description is long enough to wrap as well, in narrow terminals"],
    ["$0 f", "short"],
  ],
  options: {
    level: { type: "number", describe: "How much", default: 1, group: "Tuning:" },
    format: { type: "string", choices: ["tsv", "json"], default: "tsv", describe: "Row format" },
    file: { type: "string", alias: "f", complete: "file", describe: "Read from FILE" },
    backup: { type: "string", optionalValue: true, describe: "Keep a copy" },
    timeout: { type: "string", describe: "Give up after this long" },
    secret: { type: "boolean", hidden: true, describe: "not shown" },
  },
  epilog: "Exit codes: 0 done; 64 usage.",
};

describe("helpWidth", () => {
  test("COLUMNS wins, then a terminal's width, then 80", () => {
    expect(helpWidth({ COLUMNS: "200" }, { isTTY: true, columns: 120 })).toBe(200);
    expect(helpWidth({}, { isTTY: true, columns: 120 })).toBe(120);
    expect(helpWidth({}, { isTTY: false, columns: 120 })).toBe(80);
    expect(helpWidth({ COLUMNS: "abc" }, {})).toBe(80);
    expect(helpWidth({ COLUMNS: "0" }, {})).toBe(80);
    expect(helpWidth({ COLUMNS: "10" }, {})).toBe(40); // a floor: narrower reads as nothing
  });
});

describe("wrap", () => {
  test("breaks at spaces within the width, indents, and never breaks a word or a `quoted command`", () => {
    expect(wrap("aa bb cc dd", 8, 2)).toEqual(["  aa bb", "  cc dd"]);
    expect(wrap("x `source <(demo --completion)` y", 12, 0)).toEqual(["x", "`source <(demo --completion)`", "y"]);
    expect(wrap("averyveryverylongword z", 10, 4)).toEqual(["    averyveryverylongword", "    z"]);
  });
});

describe("renderHelp", () => {
  test("each example command is one whole line at any width, its description indented below", () => {
    for (const w of [40, 60, 80, 200]) {
      const lines = renderHelp(table, w).split("\n");
      expect(lines).toContain(`  ${long}`);
      const i = lines.indexOf("  demo-cmd f");
      expect(lines[i + 1]).toBe("      short");
      // Only commands may be wider: the example, the synopsis, a `quoted command` in running text.
      for (const l of lines) if (l.length > w && l !== `  ${long}` && l !== "  demo-cmd [opts] FILE") expect(l).toMatch(/^ +`[^`]+`\)?$/);
    }
  });

  test("lists the environment variables the command reads before the epilog", () => {
    const h = renderHelp({ ...table, environment: [["DEMO_MODE=fast", "Go fast"]] }, 100);
    expect(h).toMatch(/\nEnvironment:\n  DEMO_MODE=fast +Go fast\n\nExit codes: 0 done; 64 usage\.\n$/);
    expect(renderHelp(table, 100)).not.toContain("Environment:");
  });

  test("lists groups, choices and defaults, --completion, hides hidden options, ends with the epilog", () => {
    const h = renderHelp(table, 100);
    expect(h).toContain("\nTuning:\n      --level N");
    expect(h).toContain("(one of: tsv, json) (default: tsv)");
    expect(h).toContain("  -f, --file VALUE");
    expect(h).toContain("--backup[=VALUE]");
    expect(h).toMatch(/\n +--completion +Print a bash completion script and exit \(load it with\s+`source <\(demo-cmd --completion\)`\)/);
    expect(h).not.toContain("secret");
    expect(h.trimEnd().endsWith("Exit codes: 0 done; 64 usage.")).toBe(true);
  });

  test("an overview lists its subcommands with their descriptions", () => {
    const h = renderHelp({ ...table, examples: [], options: {} }, 80, { subcommands: { go: { ...table, command: "demo-cmd go", description: "Go somewhere." } } });
    expect(h).toMatch(/\nCommands:\n  go +Go somewhere\.\n/);
  });
});

describe("renderBashCompletion", () => {
  const script = renderBashCompletion("demo-cmd", [table]);
  test("values: choices as words, file options as files, anything else nothing", () => {
    expect(script).toContain("--format) _hardshell_words 'tsv json'; return 0 ;;");
    expect(script).toContain("--file|-f) _hardshell_files -f; return 0 ;;");
    expect(script).toContain("--timeout) :; return 0 ;;");
    expect(script).not.toContain("complete -o default"); // an option with nothing to offer must not fall back to files
    expect(script).not.toContain("--secret");
    expect(script).not.toContain("_git_lock");
  });
  test("git-lock also defines _git_lock for git's own completion", () => {
    expect(renderBashCompletion("git-lock", [table], ["go"])).toContain("_git_lock() {");
  });
});
