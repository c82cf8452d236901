/**
 * The one place where a command's outcome becomes output and an exit code.
 * cmd/<command>.ts calls `runMain(table, body)`; `body` parses nothing itself
 * and returns an exit code or throws an error value from lib/.
 *
 * - `--help` (lazy yargs), `--version`, `--completion`, `--man` (the man page,
 *   lib/cli/man.ts) are answered here.
 * - HardshellError -> one stderr line built by errorLine (lib/core/errors.ts), its exit code;
 *   a usage error gets the parser's "did you mean ...?" notes added to its hint.
 * - Hooks: `soft` names a boolean option that turns every failure (usage
 *   included) into its diagnostic and exit 0; `atExit` runs on every exit
 *   after the outcome was printed (sqlite-exec --stats).
 * - Anything else is a bug: exit 70 with "please report".
 * - SIGINT/SIGTERM/SIGHUP -> registered cleanups, then exit 128+N.
 * - HARDSHELL_DEBUG=1 adds the stack trace.
 */
import pkg from "../../package.json" with { type: "json" };
import { errorLine, HardshellError, InterruptedError, errorText, UsageError, withHint } from "../../lib/core/errors";
import { EXIT } from "../../lib/core/exit";
import { installSignalHandlers } from "../../lib/core/signals";
import { optionWords, parseArgs, wantsHelp, wantsVersion, type CommandTable, type OptionTable, type ParsedArgs } from "../../lib/cli/options";
import { printError, stdout } from "./io";

export const VERSION: string = pkg.version;

function debugEnabled(): boolean {
  return process.env.HARDSHELL_DEBUG === "1";
}

/** Print an error value the design.md §2.2 way and return its exit code. */
export function reportError(program: string, err: unknown): number {
  if (err instanceof InterruptedError) return err.exitCode;
  if (err instanceof HardshellError) {
    // Printed already, from a timer that could not wait for us (lib/sqlite/interrupt.ts).
    if ((err as { alreadyPrinted?: boolean }).alreadyPrinted === true) return err.exitCode;
    printError(errorLine(program, err));
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

export interface MainHooks {
  /** argv without the program name (default: process.argv.slice(2)). */
  argv?: readonly string[];
  /** A boolean option that, when given, turns any failure (a usage error too) into its diagnostic and exit 0. */
  soft?: string;
  /** Runs on every exit but a signal's, after the outcome was printed. */
  atExit?: () => void;
}

/**
 * Run a single-table command. `body` gets the parsed arguments and returns
 * the exit code.
 */
export async function runMain<O extends OptionTable>(
  program: string,
  table: CommandTable<O>,
  body: (args: ParsedArgs<O>) => Promise<number> | number,
  hooks: MainHooks = {},
): Promise<never> {
  const argv = hooks.argv ?? process.argv.slice(2);
  installSignalHandlers((_sig, code) => finish(code));
  let notes: string[] = [];
  let code: number;
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
    notes = args.notes;
    code = await body(args);
  } catch (err) {
    let e = err;
    if (e instanceof UsageError) for (const n of notes) e = withHint(e as UsageError, n);
    code = reportError(program, e);
    // `--soft` as an option word (not an option's value), even when the rest did not parse.
    if (hooks.soft !== undefined && !(err instanceof InterruptedError) && optionWords(table, argv).includes(`--${hooks.soft}`)) code = EXIT.OK;
  }
  hooks.atExit?.();
  finish(code);
}

/** A subcommand: its table and body, typed together by `subcommand()`. */
export interface Subcommand {
  table: CommandTable;
  body: (args: ParsedArgs) => Promise<number> | number;
}

export function subcommand<O extends OptionTable>(table: CommandTable<O>, body: (args: ParsedArgs<O>) => Promise<number> | number): Subcommand {
  return { table, body: body as unknown as Subcommand["body"] };
}

/**
 * Run a command with subcommands (`git-lock status|clean|wait|run`). The first
 * positional word picks the table; `--help` without a subcommand lists them.
 */
export async function runMainWithSubcommands(
  program: string,
  overview: CommandTable,
  subcommands: Record<string, Subcommand>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<never> {
  installSignalHandlers((_sig, code) => finish(code));
  let notes: string[] = [];
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
        hint: `one of ${Object.keys(subcommands).join(", ")}`,
      });
    }
    const rest = argv.slice(1);
    if (wantsHelp(rest, sub.table)) {
      await printHelp(sub.table);
      finish(EXIT.OK);
    }
    const args = parseArgs(sub.table, rest);
    notes = args.notes;
    finish(await sub.body(args));
  } catch (err) {
    let e = err;
    if (e instanceof UsageError) for (const n of notes) e = withHint(e as UsageError, n);
    finish(reportError(program, e));
  }
}
