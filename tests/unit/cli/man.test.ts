import { describe, expect, test } from "bun:test";
import { renderMan } from "../../../lib/cli/man";
import type { CommandTable } from "../../../lib/cli/options";

const table: CommandTable = {
  command: "demo-cmd",
  usage: ["$0 [opts] FILE"],
  description: "Do the demo thing. More text about it.",
  examples: [
    ["$0 --level 2 f", "level two"],
    [".hidden-start x", "a line starting with a dot"],
  ],
  options: {
    level: { type: "number", describe: "How much", default: 1 },
    backup: { type: "string", optionalValue: true, describe: "Keep a copy" },
    quiet: { type: "boolean", alias: "q", describe: "Say nothing \\ at all" },
    secret: { type: "boolean", hidden: true, describe: "not shown" },
  },
  epilog: "Exit codes: 0 done; 64 usage.",
};

describe("renderMan", () => {
  const man = renderMan("demo-cmd", "1.2.3", table);

  test("has the man(7) skeleton with the version and the first sentence as NAME", () => {
    expect(man).toContain('.TH DEMO-CMD 1 "" "hardshell 1.2.3" "User Commands"');
    expect(man).toContain("demo\\-cmd \\- Do the demo thing\n");
    for (const sh of ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS", "SEE ALSO"]) expect(man).toContain(`.SH ${sh}\n`);
  });

  test("lists every visible option of the table plus --help and --version, never a hidden one", () => {
    expect(man).toContain("\\fB\\-\\-level\\fR \\fIN\\fR");
    expect(man).toContain("(default: 1)");
    expect(man).toContain("\\fB\\-\\-backup\\fR[=\\fIVALUE\\fR]");
    expect(man).toContain("\\fB\\-q\\fR, \\fB\\-\\-quiet\\fR");
    expect(man).toContain("\\fB\\-\\-help\\fR");
    expect(man).toContain("\\fB\\-\\-version\\fR");
    expect(man).not.toContain("secret");
  });

  test("escapes backslashes, hyphens and lines that would be read as requests", () => {
    expect(man).toContain("Say nothing \\e at all");
    expect(man).toContain("demo\\-cmd [opts] FILE");
    expect(man).not.toMatch(/^\.hidden/m);
  });

  test("the table's environment variables follow HARDSHELL_DEBUG under ENVIRONMENT", () => {
    const m = renderMan("demo-cmd", "1.2.3", { ...table, environment: [["DEMO_MODE=fast", "Go fast"]] });
    const env = m.slice(m.indexOf(".SH ENVIRONMENT"), m.indexOf(".SH SEE ALSO"));
    expect(env).toContain("\\fBHARDSHELL_DEBUG=1\\fR");
    expect(env).toContain(".TP\n\\fBDEMO_MODE=fast\\fR\nGo fast\n");
  });
  test("with subcommands, each gets a subsection with its own options", () => {
    const sub: CommandTable = { ...table, command: "demo-cmd run", usage: ["$0 -- CMD"], options: { name: { type: "string", describe: "Lock name" } } };
    const m = renderMan("demo-cmd", "1.2.3", { ...table, options: {} }, { run: sub });
    expect(m).toContain(".SS demo\\-cmd run");
    expect(m).toContain("\\fB\\-\\-name\\fR \\fIVALUE\\fR");
    expect(m).toContain(".SH COMMANDS");
  });
});
