/**
 * sqlite-exec: run SQL against a SQLite file as ONE transaction, retrying with
 * backoff + jitter while the database is busy (design.md §5). This file is the thin
 * shell around lib/sqlite: option table, one selectMode() + execSqlite() call,
 * output. Which input is used and their conflicts: lib/sqlite/exec.ts;
 * rendering: lib/sqlite/format.ts and output.ts.
 */
import { runMain } from "./_shared/main";
import { printError, stdout } from "./_shared/io";
import { defineCommand, type ParsedArgs } from "../lib/cli/options";
import { policyFromArgs, RETRY_BUDGET_OPTIONS } from "../lib/cli/retry";
import { noticeLine, UsageError } from "../lib/core/errors";
import { EXIT } from "../lib/core/exit";
import { parseBindings } from "../lib/sqlite/params";
import { dotlockPresent, validateOpenOptions, SYNCHRONOUS_MODES, type OpenOptions } from "../lib/sqlite/open";
import type { RunOptions } from "../lib/sqlite/run";
import { CHECKPOINT_MODES } from "../lib/sqlite/checkpoint";
import { execSqlite, selectMode } from "../lib/sqlite/exec";
import { checkReport, FORMATS, rawText, statsText, type Format } from "../lib/sqlite/format";
import { createOutput, NoOutput, RawOutput, type RowOutput } from "../lib/sqlite/output";

const PROGRAM = "sqlite-exec";
const OPEN = "Opening:";
const IN = "Input and parameters:";
const OUT = "Output:";
const BATCH = "Batch (--each):";
const MAINT = "Maintenance (instead of SQL):";
const WASM = "node-sqlite3-wasm interop:";

export const TABLE = defineCommand({
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
    file: { type: "string", alias: "f", group: IN, complete: "file", conflicts: ["each"], describe: "Read the SQL script from this file" },
    param: { type: "array", alias: "p", group: IN, describe: "Bind :NAME @NAME $NAME: NAME=VALUE, NAME:int=42, NAME:real=1.5, NAME:null, NAME:blob=@PATH (repeatable)" },
    arg: { type: "array", alias: "a", group: IN, describe: "Bind the next ? placeholder, as text (repeatable, in order)" },
    create: { type: "boolean", group: OPEN, conflicts: ["read-only"], describe: "Create the database if it does not exist (default: exit 66)" },
    "read-only": { type: "boolean", group: OPEN, describe: "Open read-only; any write is exit 77" },
    wal: { type: "boolean", group: OPEN, conflicts: ["read-only"], describe: "Switch the database to WAL journal mode (persistent)" },
    synchronous: { type: "string", group: OPEN, choices: SYNCHRONOUS_MODES, ignoreCase: true, describe: `PRAGMA synchronous for this connection: ${SYNCHRONOUS_MODES.join("|")}` },
    pragma: { type: "array", group: OPEN, describe: "Extra PRAGMA NAME=VALUE on open, VALUE an integer or keyword (repeatable)" },
    "no-foreign-keys": { type: "boolean", group: OPEN, describe: "Do not turn foreign_keys on (it is on by default)" },
    "busy-timeout": { type: "string", kind: "duration", group: "Retry budget:", default: "1s", describe: "SQLite's own busy wait per attempt" },
    ...RETRY_BUDGET_OPTIONS,
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
    batch: { type: "number", kind: "count", min: 1, group: BATCH, describe: "Rows per transaction, committed as soon as they have arrived (default: all rows in one)" },
    check: { type: "boolean", group: MAINT, conflicts: ["checkpoint", "backup", "file", "each"], describe: "integrity_check + foreign_key_check; exit 1 and a report if anything is wrong" },
    checkpoint: { type: "string", optionalValue: true, choices: CHECKPOINT_MODES, ignoreCase: true, group: MAINT, conflicts: ["backup", "file", "each"], describe: "WAL checkpoint: PASSIVE (default), FULL, RESTART or TRUNCATE" },
    backup: { type: "string", group: MAINT, complete: "file", conflicts: ["file", "each"], describe: "Consistent online copy to DEST (temp file beside it, fsync, rename)" },
    dotlock: { type: "boolean", group: WASM, describe: "Also hold node-sqlite3-wasm's DB.lock directory around each attempt (held = busy, retried); clear it when stale" },
    "dotlock-stale": { type: "string", kind: "duration", requires: "dotlock", group: WASM, describe: "A DB.lock older than this that no live process backs is stale (default 30s; needs --dotlock)" },
  },
  maxPositionals: 2,
  epilog:
    "Exit codes: 0 done, 1 --check found problems, 64 usage, 65 bad SQL / constraint / malformed row, " +
    "66 database missing, 73 cannot create, 74 I/O or corrupt, 75 still busy when the budget ran out, 77 read-only / permission, 128+N signal.",
});

type Args = ParsedArgs<typeof TABLE.options>;

/** The stats line of this run, printed on every exit once parsing succeeded (runMain's atExit). */
let statsLine: (() => string) | undefined;

async function body({ opts, positionals, given }: Args): Promise<number> {
  const [dbPath, sqlArg] = positionals;
  if (dbPath === undefined) throw new UsageError({ what: "missing argument", subject: "DB", hint: `see ${PROGRAM} --help` });
  const quiet = opts.quiet;
  const started = performance.now();
  const stats = { attempts: 0, waitedMs: 0 };
  if (opts.stats && !quiet) statsLine = () => noticeLine(PROGRAM, "stats", statsText(stats, performance.now() - started));

  const format: Format = opts.json ? "json" : opts.format;
  const policy = policyFromArgs(opts);
  const open: OpenOptions = {
    path: dbPath,
    create: opts.create,
    readOnly: opts["read-only"],
    wal: opts.wal,
    synchronous: opts.synchronous,
    pragmas: opts.pragma,
    foreignKeys: !opts["no-foreign-keys"],
  };
  validateOpenOptions(open);
  const runOpts: RunOptions = { policy, busyTimeoutMs: opts["busy-timeout"], open, countChanges: opts.changes, stats };
  const mode = await selectMode({
    sqlArg,
    file: opts.file,
    each: opts.each,
    check: opts.check,
    checkpoint: opts.checkpoint,
    backup: opts.backup,
    input: opts.input,
    batch: opts.batch ?? Infinity,
    bindings: parseBindings(opts.param, opts.arg),
  });

  if (opts.dotlock) {
    const d = await import("../lib/sqlite/dotlock");
    const stale = opts["dotlock-stale"];
    runOpts.guard = d.dotlockGuard(open, stale === undefined ? undefined : `${stale}ms`, (c) => {
      if (!quiet) printError(noticeLine(PROGRAM, "removed stale DB.lock", c.path, c.reason));
    });
  } else if (!quiet && dotlockPresent(dbPath)) {
    printError(noticeLine(PROGRAM, "warning: a node-sqlite3-wasm lock exists", `${dbPath}.lock`, "a node-sqlite3-wasm client may be writing without SQLite locks; pass --dotlock to honour its lock"));
  }
  if (given.has("deadline")) {
    // Counted from here, like the retry budget: time spent reading the SQL or rows from a slow pipe is not the database's.
    runOpts.stopAt = performance.now() + policy.deadlineMs;
    runOpts.stopExitCode = opts.soft ? EXIT.OK : EXIT.TEMPFAIL;
  }
  // Rows stream out as soon as no retry can repeat them (lib/sqlite/output.ts); --raw keeps only the first value.
  const raw = opts.raw && !quiet ? new RawOutput() : undefined;
  const output: RowOutput = quiet ? new NoOutput() : raw ?? createOutput({ format, header: opts.header, nullText: opts.null }, stdout);
  const result = await execSqlite({ open, run: runOpts, mode, output: mode.kind === "check" ? undefined : output });
  if (!quiet) {
    if (mode.kind === "check") stdout.write(checkReport(result, format));
    else if (raw) {
      const v = rawText(raw.value, opts.null);
      if (v instanceof Uint8Array) stdout.writeBytes(v);
      else if (v !== undefined) stdout.write(v);
    } else output.end();
    if (opts.changes) stdout.write(`${result.changes}\n`);
  }
  return result.ok ? EXIT.OK : EXIT.NO;
}

await runMain(PROGRAM, TABLE, body, { soft: "soft", atExit: () => statsLine && printError(statsLine()) });
