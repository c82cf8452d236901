/**
 * The one place where a command's outcome becomes output and an exit code.
 * cmd/<command>.ts calls `runMain(table, body)`; `body` parses nothing itself
 * and returns an exit code or throws an error value from lib/.
 *
 * - `--help` (lazy yargs), `--version`, `--completion`, `--man` (the man page,
 *   lib/cli/man.ts) are answered here.
 * - HardshellError -> one stderr line `<command>: <message>`, its exit code.
 * - Anything else is a bug: exit 70 with "please report".
 * - SIGINT/SIGTERM/SIGHUP -> registered cleanups, then exit 128+N.
 * - HARDSHELL_DEBUG=1 adds the stack trace.
 */
import pkg from "../../package.json" with { type: "json" };
import { HardshellError, InterruptedError, errorText } from "../../lib/core/errors";
import { EXIT } from "../../lib/core/exit";
import { installSignalHandlers } from "../../lib/core/signals";
import { parseArgs, wantsHelp, wantsVersion, type CommandTable, type ParsedArgs } from "../../lib/cli/options";
import { printError, stdout } from "./io";

export const VERSION: string = pkg.version;

function debugEnabled(): boolean {
  return process.env.HARDSHELL_DEBUG === "1";
}

/** Print an error value the design.md §2.2 way and return its exit code. */
export function reportError(program: string, err: unknown): number {
  if (err instanceof InterruptedError) return err.exitCode;
  if (err instanceof HardshellError) {
    printError(`${program}: ${err.message}`);
    if (debugEnabled()) printError(String((err as Error).stack ?? err) + (err.cause ? `\ncause: ${String((err.cause as Error)?.stack ?? err.cause)}` : ""));
    return err.exitCode;
  }
  printError(`${program}: internal error: ${errorText(err)} (please report; rerun with HARDSHELL_DEBUG=1 for details)`);
  if (debugEnabled()) printError(String((err as Error)?.stack ?? err));
  return EXIT.SOFTWARE;
}

function finish(code: number): never {
  stdout.flush();
  process.exit(code);
}

/** Print help for a table (lib/cli/help.ts, loaded lazily), as wide as the stream it goes to; on stderr when it answers a usage error. */
export async function printHelp(table: CommandTable, to: "stdout" | "stderr" = "stdout", subcommands?: Record<string, CommandTable>): Promise<void> {
  const { renderHelp, helpWidth } = await import("../../lib/cli/help");
  const text = renderHelp(table, helpWidth(process.env, to === "stderr" ? process.stderr : process.stdout), { subcommands });
  if (to === "stderr") printError(text.trimEnd());
  else stdout.write(text);
}

/**
 * Run a single-table command. `body` gets the parsed arguments and returns
 * the exit code.
 */
export async function runMain(
  program: string,
  table: CommandTable,
  body: (args: ParsedArgs) => Promise<number> | number,
  argv: readonly string[] = process.argv.slice(2),
): Promise<never> {
  installSignalHandlers((_sig, code) => finish(code));
  try {
    // With the table: `--arg -h` binds "-h", it does not ask for help.
    if (wantsHelp(argv, table)) {
      await printHelp(table);
      finish(EXIT.OK);
    }
    if (wantsVersion(argv, table)) {
      stdout.write(`${program} ${VERSION}\n`);
      finish(EXIT.OK);
    }
    if (argv[0] === "--completion") {
      const { renderBashCompletion } = await import("../../lib/cli/help");
      stdout.write(renderBashCompletion(program, [table]));
      finish(EXIT.OK);
    }
    if (argv[0] === "--man") {
      const { renderMan } = await import("../../lib/cli/man");
      stdout.write(renderMan(program, VERSION, table));
      finish(EXIT.OK);
    }
    const args = parseArgs(table, argv);
    finish(await body(args));
  } catch (err) {
    finish(reportError(program, err));
  }
}

/**
 * Run a command with subcommands (`git-lock status|clean|wait|run`). The first
 * positional word picks the table; `--help` without a subcommand lists them.
 */
export async function runMainWithSubcommands(
  program: string,
  overview: CommandTable,
  subcommands: Record<string, { table: CommandTable; body: (args: ParsedArgs) => Promise<number> | number }>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<never> {
  installSignalHandlers((_sig, code) => finish(code));
  try {
    const name = argv[0];
    const sub = name !== undefined && Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
    if (!sub || argv[1] === "--completion") {
      if (wantsVersion(argv) && !wantsHelp(argv)) {
        stdout.write(`${program} ${VERSION}\n`);
        finish(EXIT.OK);
      }
      if (argv[0] === "--completion" || (sub && argv[1] === "--completion")) {
        // Listed in every page, so `git-lock status --completion` works too (it prints the whole program's script).
        const { renderBashCompletion } = await import("../../lib/cli/help");
        stdout.write(renderBashCompletion(program, Object.values(subcommands).map((s) => s.table), Object.keys(subcommands)));
        finish(EXIT.OK);
      }
      if (argv[0] === "--man") {
        const { renderMan } = await import("../../lib/cli/man");
        stdout.write(renderMan(program, VERSION, overview, Object.fromEntries(Object.entries(subcommands).map(([k, v]) => [k, v.table]))));
        finish(EXIT.OK);
      }
      const tables = Object.fromEntries(Object.entries(subcommands).map(([k, v]) => [k, v.table]));
      if (argv.length === 0) {
        await printHelp(overview, "stderr", tables); // a usage error: stdout stays clean for scripts
        finish(EXIT.USAGE);
      }
      if (wantsHelp(argv)) {
        await printHelp(overview, "stdout", tables);
        finish(EXIT.OK);
      }
      throw new (await import("../../lib/core/errors")).UsageError({
        what: "unknown subcommand",
        subject: JSON.stringify(name),
        hint: `choose from ${Object.keys(subcommands).join(", ")}`,
      });
    }
    const rest = argv.slice(1);
    if (wantsHelp(rest, sub.table)) {
      await printHelp(sub.table);
      finish(EXIT.OK);
    }
    finish(await sub.body(parseArgs(sub.table, rest)));
  } catch (err) {
    finish(reportError(program, err));
  }
}
