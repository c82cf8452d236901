/**
 * sqlite-exec: run SQL against a SQLite file as ONE transaction, retrying with
 * backoff + jitter while the database is busy (design.md §5). This file is the thin
 * shell around lib/sqlite: option table, argv -> one execSqlite() call, output.
 */
import { runMain, reportError } from "./_shared/main";
import { stderr, stdout } from "./_shared/io";
import { optionWords, parseArgs, type CommandTable, type ParsedArgs } from "../lib/cli/options";
import { policyFromArgs, retryBudgetOptions } from "../lib/cli/retry";
import { parseDuration, formatDuration } from "../lib/core/duration";
import { InterruptedError, UsageError, fromErrno } from "../lib/core/errors";
import { EXIT } from "../lib/core/exit";
import { parseBindings } from "../lib/sqlite/params";
import { dotlockPresent, validateOpenOptions, SYNCHRONOUS_MODES, type OpenOptions } from "../lib/sqlite/open";
import type { RunOptions } from "../lib/sqlite/run";
import type { InputFormat } from "../lib/sqlite/batch";
import { execSqlite, type ExecMode } from "../lib/sqlite/exec";
import { FORMATS, valueText, type Format } from "../lib/sqlite/format";
import { createOutput, NoOutput, RawOutput, type RowOutput } from "../lib/sqlite/output";
import { StatementDeadlineError } from "../lib/sqlite/errors";

const PROGRAM = "sqlite-exec";
const OPEN = "Opening:";
const IN = "Input and parameters:";
const OUT = "Output:";
const BATCH = "Batch (--each):";
const MAINT = "Maintenance (instead of SQL):";
const WASM = "node-sqlite3-wasm interop:";

export const TABLE: CommandTable = {
  command: PROGRAM,
  usage: [
    "$0 [opts] DB 'SQL'            SQL from the argument",
    "$0 [opts] DB < script.sql     SQL from stdin (also when SQL is '-'), or --file F",
    "$0 [opts] DB --each 'INSERT ... VALUES (:a, :b)' < rows.jsonl",
    "$0 DB --check | --checkpoint[=MODE] | --backup DEST",
  ],
  description:
    "Run the whole script as ONE transaction (BEGIN IMMEDIATE when it writes) and retry it with exponential " +
    "backoff and full jitter while the database is busy or locked. Rows print once no retry can repeat them (a script that writes: after COMMIT).",
  examples: [
    [`$0 --create --wal app.db "CREATE TABLE IF NOT EXISTS hits(path TEXT, n INTEGER NOT NULL DEFAULT 1)"`, "create the database in WAL mode, with the table the next examples use"],
    [`$0 app.db "INSERT INTO hits(path) VALUES (:p)" --param p=/index.html`, "record one row, retrying while another process writes"],
    [`n=$($0 --raw app.db "SELECT count(*) FROM hits")`, "capture one value in a shell variable"],
    [`jq -c '.[]' rows.json | $0 app.db --each "INSERT INTO hits(path, n) VALUES (:path, :n)" --batch 500`, "bulk insert from a JSON array of {path, n} objects, 500 rows per transaction"],
    [`$0 --deadline 5s --soft app.db "UPDATE hits SET n = n + 1 WHERE path = '/index.html'"`, "telemetry that never fails the caller: gives up after 5 s and exits 0 whatever happened"],
    [`$0 --json app.db "SELECT path, sum(n) AS n FROM hits GROUP BY path"`, "rows as one JSON array"],
    [`$0 app.db --check`, "integrity and foreign-key check: prints ok (exit 0), or the problems (exit 1)"],
    [`$0 app.db --backup app-copy.db`, "consistent online copy, renamed into place"],
    [`$0 --dotlock --retries 50 app.db "INSERT INTO hits(path) VALUES ('/cron')"`, "share a database with a node-sqlite3-wasm app: honour its app.db.lock, clear it when stale"],
  ],
  options: {
    file: { type: "string", alias: "f", group: IN, complete: "file", describe: "Read the SQL script from this file" },
    param: { type: "array", alias: "p", group: IN, describe: "Bind :NAME @NAME $NAME: NAME=VALUE, NAME:int=42, NAME:real=1.5, NAME:null, NAME:blob=@PATH (repeatable)" },
    arg: { type: "array", alias: "a", group: IN, describe: "Bind the next ? placeholder, as text (repeatable, in order)" },
    create: { type: "boolean", group: OPEN, describe: "Create the database if it does not exist (default: exit 66)" },
    "read-only": { type: "boolean", group: OPEN, describe: "Open read-only; any write is exit 77" },
    wal: { type: "boolean", group: OPEN, describe: "Switch the database to WAL journal mode (persistent)" },
    synchronous: { type: "string", group: OPEN, complete: SYNCHRONOUS_MODES, describe: `PRAGMA synchronous for this connection: ${SYNCHRONOUS_MODES.join("|")}` },
    pragma: { type: "array", group: OPEN, describe: "Extra PRAGMA NAME=VALUE on open, VALUE an integer or keyword (repeatable)" },
    "no-foreign-keys": { type: "boolean", group: OPEN, describe: "Do not turn foreign_keys on (it is on by default)" },
    "busy-timeout": { type: "string", group: "Retry budget:", default: "1s", describe: "SQLite's own busy wait per attempt" },
    ...retryBudgetOptions(),
    stats: { type: "boolean", group: "Retry budget:", describe: "Print attempts, time waiting and time total on stderr" },
    format: { type: "string", group: OUT, choices: FORMATS, default: "tsv", describe: "Row format" },
    json: { type: "boolean", group: OUT, describe: "Same as --format json" },
    header: { type: "boolean", group: OUT, describe: "Print column names first (tsv, csv)" },
    null: { type: "string", group: OUT, default: "", describe: "Text printed for NULL (tsv, csv, table, raw)" },
    raw: { type: "boolean", group: OUT, describe: "Print exactly the first column of the first row, unescaped, no newline" },
    changes: { type: "boolean", group: OUT, describe: "Print the number of rows the script changed" },
    quiet: { type: "boolean", alias: "q", group: OUT, describe: "Print nothing but errors" },
    soft: { type: "boolean", group: OUT, describe: "On any failure print the diagnostic and exit 0" },
    each: { type: "string", group: BATCH, describe: "Run this SQL once per row read from stdin, fields as named parameters" },
    input: { type: "string", group: BATCH, choices: ["jsonl", "tsv", "csv"], default: "jsonl", describe: "Row format on stdin (tsv/csv need a header line)" },
    batch: { type: "number", group: BATCH, describe: "Rows per transaction, committed as soon as they have arrived (default: all rows in one)" },
    check: { type: "boolean", group: MAINT, describe: "integrity_check + foreign_key_check; exit 1 and a report if anything is wrong" },
    checkpoint: { type: "string", optionalValue: true, group: MAINT, complete: ["PASSIVE", "FULL", "RESTART", "TRUNCATE"], describe: "WAL checkpoint: PASSIVE (default), FULL, RESTART or TRUNCATE" },
    backup: { type: "string", group: MAINT, complete: "file", describe: "Consistent online copy to DEST (temp file beside it, fsync, rename)" },
    dotlock: { type: "boolean", group: WASM, describe: "Also hold node-sqlite3-wasm's DB.lock directory around each attempt (held = busy, retried); clear it when stale" },
    "dotlock-stale": { type: "string", group: WASM, describe: "A DB.lock older than this that no live process backs is stale (default 30s; needs --dotlock)" },
  },
  maxPositionals: 2,
  epilog:
    "Exit codes: 0 done, 1 --check found problems, 64 usage, 65 bad SQL / constraint / malformed row, " +
    "66 database missing, 73 cannot create, 74 I/O or corrupt, 75 still busy when the budget ran out, 77 read-only / permission, 128+N signal.",
};

function softRequested(argv: readonly string[]): boolean {
  return optionWords(TABLE, argv).includes("--soft"); // `--arg --soft` binds a value, it asks for nothing
}

/** Was --deadline given (not just its default)? Only then does it also stop a running statement. */
function deadlineGiven(argv: readonly string[]): boolean {
  return optionWords(TABLE, argv).some((a) => a === "--deadline" || a.startsWith("--deadline="));
}

/** The SQL text: --file, the argument, or stdin (also for '-'). */
async function readSql(file: string | undefined, sqlArg: string | undefined): Promise<string> {
  if (file !== undefined) {
    return Bun.file(file)
      .text()
      .catch((err) => {
        throw fromErrno(err, { what: "cannot read SQL file", subject: file });
      });
  }
  return sqlArg !== undefined && sqlArg !== "-" ? sqlArg : readStdin();
}

async function readStdin(): Promise<string> {
  try {
    return await Bun.stdin.text();
  } catch (err) {
    throw fromErrno(err, { what: "cannot read stdin" });
  }
}

async function body({ opts, positionals }: ParsedArgs): Promise<number> {
  const dbPath = positionals[0];
  if (dbPath === undefined) throw new UsageError({ what: "missing argument", subject: "DB", hint: `see ${PROGRAM} --help` });
  const sqlArg = positionals[1];
  const each = opts.each as string | undefined;
  const file = opts.file as string | undefined;
  const maint = [opts.check ? "--check" : "", opts.checkpoint !== undefined ? "--checkpoint" : "", opts.backup !== undefined ? "--backup" : ""].filter(Boolean);
  if (maint.length > 1) throw new UsageError({ what: "choose one of", subject: maint.join(", ") });
  const sources = [sqlArg !== undefined && sqlArg !== "-" ? "SQL argument" : "", file !== undefined ? "--file" : "", each !== undefined ? "--each" : "", ...maint].filter(Boolean);
  if (sources.length > 1) throw new UsageError({ what: "conflicting inputs", subject: sources.join(" and "), hint: "give SQL one way only" });

  const format: Format = opts.json ? "json" : (opts.format as Format);
  const quiet = !!opts.quiet;
  const policy = policyFromArgs(opts);
  const busyTimeoutMs = parseDuration(String(opts["busy-timeout"]), "busy-timeout");
  const batch = opts.batch === undefined ? Infinity : Number(opts.batch);
  if (!(batch >= 1) || (batch !== Infinity && !Number.isInteger(batch))) throw new UsageError({ what: "--batch needs a whole number >= 1", subject: JSON.stringify(String(opts.batch)) });
  const open: OpenOptions = {
    path: dbPath,
    create: !!opts.create,
    readOnly: !!opts["read-only"],
    wal: !!opts.wal,
    synchronous: opts.synchronous as string | undefined,
    pragmas: (opts.pragma as string[] | undefined) ?? [],
    foreignKeys: !opts["no-foreign-keys"],
  };
  validateOpenOptions(open);
  const bindings = parseBindings(opts.param as string[] | undefined, opts.arg as string[] | undefined);
  const runOpts: RunOptions = { policy, busyTimeoutMs, open, countChanges: !!opts.changes };

  if (opts.dotlock) {
    const d = await import("../lib/sqlite/dotlock");
    runOpts.guard = d.dotlockGuard(open, opts["dotlock-stale"] as string | undefined, (c) => {
      if (quiet) return;
      stdout.flush();
      stderr.write(`${PROGRAM}: removed stale DB.lock: ${c.path} (${c.reason})\n`);
      stderr.flush();
    });
  } else if (opts["dotlock-stale"] !== undefined) {
    throw new UsageError({ what: "--dotlock-stale needs --dotlock" });
  } else if (!quiet && dotlockPresent(dbPath)) {
    stderr.write(`${PROGRAM}: warning: ${dbPath}.lock exists (a node-sqlite3-wasm client may be writing without SQLite locks; pass --dotlock to honour its lock)\n`);
    stderr.flush();
  }
  const nullText = String(opts.null ?? "");
  const started = performance.now();
  const mode: ExecMode = opts.check
    ? { kind: "check" }
    : opts.checkpoint !== undefined
      ? { kind: "checkpoint", mode: String(opts.checkpoint) }
      : opts.backup !== undefined
        ? { kind: "backup", dest: String(opts.backup) }
        : each !== undefined
          ? { kind: "each", sql: each, rows: { fd: 0 }, input: opts.input as InputFormat, batch }
          : { kind: "script", sql: await readSql(file, sqlArg), bindings };
  if (deadlineGiven(argv)) {
    // Counted from here, like the retry budget: time spent reading the SQL or rows from a slow pipe is not the database's.
    runOpts.stopAt = performance.now() + policy.deadlineMs;
    runOpts.stopExitCode = opts.soft ? EXIT.OK : EXIT.TEMPFAIL;
  }
  // Rows stream out as soon as no retry can repeat them (lib/sqlite/output.ts); --raw keeps only the first value.
  const raw = opts.raw && !quiet ? new RawOutput() : undefined;
  const output: RowOutput = quiet ? new NoOutput() : raw ?? createOutput({ format, header: !!opts.header, nullText }, stdout);
  const result = await execSqlite({ open, run: runOpts, mode, output: mode.kind === "check" ? undefined : output });
  const code = result.ok ? EXIT.OK : EXIT.NO;
  const changes = result.changes;
  if (mode.kind === "check" && !quiet) {
    if (format === "json") stdout.write(JSON.stringify({ ok: result.ok, problems: result.problems }) + "\n");
    else stdout.write(result.ok ? "ok\n" : result.problems.map((p) => p.replace(/\n/g, " ") + "\n").join(""));
  }

  if (!quiet) {
    if (raw) {
      const v = raw.value;
      if (v instanceof Uint8Array) stdout.writeBytes(v);
      else if (v !== undefined) stdout.write(v === null ? nullText : typeof v === "string" ? v : valueText(v));
    } else if (mode.kind !== "check") {
      output.end();
    }
    if (opts.changes) stdout.write(`${changes}\n`);
  }
  if (opts.stats && !quiet) {
    stdout.flush();
    stderr.write(`${PROGRAM}: stats: attempts=${result.attempts} waited=${formatDuration(result.waitedMs)} total=${formatDuration(performance.now() - started)}\n`);
    stderr.flush();
  }
  return code;
}

const argv = process.argv.slice(2);
if (softRequested(argv)) {
  try {
    parseArgs(TABLE, argv);
  } catch (err) {
    reportError(PROGRAM, err);
    process.exit(EXIT.OK);
  }
}
await runMain(PROGRAM, TABLE, async (args) => {
  try {
    return await body(args);
  } catch (err) {
    // The deadline timer already printed this one (lib/sqlite/interrupt.ts).
    if (err instanceof StatementDeadlineError && err.alreadyPrinted) return args.opts.soft ? EXIT.OK : err.exitCode;
    if (args.opts.soft && !(err instanceof InterruptedError)) {
      reportError(PROGRAM, err);
      return EXIT.OK;
    }
    throw err;
  }
}, argv);
