/**
 * One sqlite-exec run (design.md §5): open the database, do what the mode asks,
 * close it. cmd/sqlite-exec.ts only turns argv into an `ExecRequest`, reads
 * the SQL text, and prints what comes back.
 *
 * What a concurrent reader or a crash can observe is decided by the layers
 * below: each transaction commits whole or not at all (run.ts), a signal rolls
 * back and closes (open.ts), `--each` commits batch by batch (batch.ts).
 * Here: the connection is always closed, on success, error or retry budget
 * exhausted. Rows reach the caller through `output` as soon as no retry can
 * repeat them (./output.ts states the rule), or collected per transaction
 * after its COMMIT (`onCommitted`); either way a retried attempt never prints twice.
 *
 * Calling sequence: selectMode(inputs) -> ExecMode (which of SQL argument,
 * --file, stdin, --each or a maintenance mode, and their conflicts; reads the
 * SQL text), then execSqlite(request) -> ExecResult; errors are thrown as
 * HardshellError values (lib/core/errors.ts), never printed here.
 *
 * SQL or rows from a terminal are a usage error, as sqlite3 users expect from
 * a non-interactive tool: a forgotten SQL argument would otherwise wait for
 * input that never comes (`timeout 2 sqlite-exec db` never ending).
 * Out of scope: argv, output formatting (format.ts).
 */
import { openDatabase, type OpenOptions } from "./open";
import { bindScript, type Bindings } from "./params";
import { runTransaction, scriptPlan, type ResultSet, type RunOptions, type RunOutcome } from "./run";
import { splitSql } from "./split";
import type { EachInput, InputFormat } from "./batch";
import type { RowOutput } from "./output";
import { fromErrno, UsageError } from "../core/errors";

export type ExecMode =
  | { kind: "script"; sql: string; bindings: Bindings }
  | { kind: "each"; sql: string; rows: EachInput; input: InputFormat; batch: number }
  | { kind: "check" }
  | { kind: "checkpoint"; mode: string }
  | { kind: "backup"; dest: string };

/** Where the work comes from, as the command line said it (already validated by the option table). */
export interface ModeInputs {
  /** The second positional: SQL text, or "-" for stdin. */
  sqlArg?: string;
  file?: string;
  each?: string;
  check: boolean;
  checkpoint?: string;
  backup?: string;
  input: InputFormat;
  batch: number;
  bindings: Bindings;
  /** Is stdin a terminal? (default: isatty(0)). */
  stdinIsTerminal?: () => boolean;
}

function stdinIsTerminal(): boolean {
  return (require("node:tty") as typeof import("node:tty")).isatty(0);
}

/**
 * The mode a command line asks for. Exactly one source of work: the SQL
 * argument, --file, --each, a maintenance option, or else stdin. Reads the
 * SQL text (--file, stdin) here; --each's rows stay on stdin for batch.ts.
 */
export async function selectMode(m: ModeInputs): Promise<ExecMode> {
  const maint = m.check ? "--check" : m.checkpoint !== undefined ? "--checkpoint" : m.backup !== undefined ? "--backup" : undefined;
  const sources = [m.sqlArg !== undefined && m.sqlArg !== "-" ? "SQL argument" : "", m.file !== undefined ? "--file" : "", m.each !== undefined ? "--each" : "", maint ?? ""].filter(Boolean);
  if (sources.length > 1) throw new UsageError({ what: "conflicting inputs", subject: sources.join(" and "), hint: "give SQL one way only" });
  if (m.check) return { kind: "check" };
  if (m.checkpoint !== undefined) return { kind: "checkpoint", mode: m.checkpoint };
  if (m.backup !== undefined) return { kind: "backup", dest: m.backup };
  const tty = m.stdinIsTerminal ?? stdinIsTerminal;
  if (m.each !== undefined) {
    if (tty()) throw new UsageError({ what: "--each reads its rows from stdin, and stdin is a terminal", hint: "pipe the rows in, e.g. jq -c '.[]' rows.json | sqlite-exec DB --each SQL" });
    return { kind: "each", sql: m.each, rows: { fd: 0 }, input: m.input, batch: m.batch };
  }
  if (m.file !== undefined) return { kind: "script", sql: await readSqlFile(m.file), bindings: m.bindings };
  if (m.sqlArg !== undefined && m.sqlArg !== "-") return { kind: "script", sql: m.sqlArg, bindings: m.bindings };
  if (tty()) throw new UsageError({ what: "no SQL given, and stdin is a terminal", hint: "give SQL as an argument, with --file FILE, or on a pipe: sqlite-exec DB 'SQL'" });
  return { kind: "script", sql: await readStdinText(), bindings: m.bindings };
}

async function readSqlFile(file: string): Promise<string> {
  try {
    return await Bun.file(file).text();
  } catch (err) {
    throw fromErrno(err, { what: "cannot read SQL file", subject: file });
  }
}

async function readStdinText(): Promise<string> {
  try {
    return await Bun.stdin.text();
  } catch (err) {
    throw fromErrno(err, { what: "cannot read stdin" });
  }
}

export interface ExecRequest {
  open: OpenOptions;
  run: RunOptions;
  mode: ExecMode;
  /** Result sets of each transaction, right after its COMMIT (once per batch with --each); only without `output`. */
  onCommitted?: (sets: ResultSet[]) => void;
  /** Stream rows here as they may be printed (./output.ts); `end()` is the caller's, after success. */
  output?: RowOutput;
}

export interface ExecResult {
  /** False only when --check found problems (exit 1). */
  ok: boolean;
  /** --check's report lines when not ok. */
  problems: string[];
  changes: number;
  attempts: number;
  waitedMs: number;
}

export async function execSqlite(req: ExecRequest): Promise<ExecResult> {
  const { mode } = req;
  const committed = (o: RunOutcome) => {
    if (!req.output) return req.onCommitted?.(o.sets);
    // Maintenance results come back collected (they are a few rows): hand them to the output as one committed attempt.
    if (o.sets.length === 0) return;
    const a = req.output.attempt();
    for (const s of o.sets) {
      a.begin(s.columns);
      for (const r of s.rows) a.row(r);
    }
    a.commit();
  };
  const run: RunOptions = req.output ? { ...req.run, output: req.output } : req.run;
  // Parse and bind before opening: a usage or SQL-text error leaves no trace (not even a --create'd file).
  const script = mode.kind === "script" || mode.kind === "each" ? splitSql(mode.sql) : undefined;
  const binds = mode.kind === "script" ? bindScript(script!, mode.bindings) : undefined;
  const conn = openDatabase(req.open);
  try {
    switch (mode.kind) {
      case "script": {
        const o = await runTransaction(conn, scriptPlan(script!, binds!), run);
        committed(o);
        return { ok: true, problems: [], changes: o.changes, attempts: o.attempts, waitedMs: o.waitedMs };
      }
      case "each": {
        const { runEach } = await import("./batch");
        const r = await runEach(conn, script!, mode.rows, mode.input, mode.batch, run, committed);
        return { ok: true, problems: [], changes: r.changes, attempts: r.attempts, waitedMs: r.waitedMs };
      }
      case "check": {
        const m = await import("./maint");
        const r = await m.checkDatabase(conn, req.run);
        return { ok: r.ok, problems: r.problems, changes: 0, attempts: r.outcome.attempts, waitedMs: r.outcome.waitedMs };
      }
      case "checkpoint":
      case "backup": {
        const m = await import("./maint");
        const o = mode.kind === "checkpoint" ? await m.checkpoint(conn, mode.mode, req.run) : await m.backup(conn, mode.dest, req.run);
        committed(o);
        return { ok: true, problems: [], changes: o.changes, attempts: o.attempts, waitedMs: o.waitedMs };
      }
    }
  } finally {
    conn.close();
  }
}
