/**
 * One sqlite-exec run (design.md §5): open the database, do what the mode asks,
 * close it. cmd/sqlite-exec.ts only turns argv into an `ExecRequest`, reads
 * the SQL text, and prints what comes back.
 *
 * What a concurrent reader or a crash can observe is decided by the layers
 * below: each transaction commits whole or not at all (run.ts), a signal rolls
 * back and closes (open.ts), `--each` commits batch by batch (batch.ts).
 * Here: the connection is always closed, on success, error or retry budget
 * exhausted; rows reach the caller only after their transaction committed
 * (`onCommitted`), so a retried attempt never prints twice.
 *
 * Calling sequence: execSqlite(request) -> ExecResult; errors are thrown as
 * HardshellError values (lib/core/errors.ts), never printed here.
 * Out of scope: argv, output formatting (format.ts), stdin.
 */
import { openDatabase, type OpenOptions } from "./open";
import { bindScript, type Bindings } from "./params";
import { runTransaction, scriptPlan, type ResultSet, type RunOptions, type RunOutcome } from "./run";
import { splitSql } from "./split";
import type { InputFormat } from "./batch";

export type ExecMode =
  | { kind: "script"; sql: string; bindings: Bindings }
  | { kind: "each"; sql: string; rows: string; input: InputFormat; batch: number }
  | { kind: "check" }
  | { kind: "checkpoint"; mode: string }
  | { kind: "backup"; dest: string };

export interface ExecRequest {
  open: OpenOptions;
  run: RunOptions;
  mode: ExecMode;
  /** Result sets of each transaction, right after its COMMIT (once per batch with --each). */
  onCommitted?: (sets: ResultSet[]) => void;
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
  const committed = (o: RunOutcome) => req.onCommitted?.(o.sets);
  // Parse and bind before opening: a usage or SQL-text error leaves no trace (not even a --create'd file).
  const script = mode.kind === "script" || mode.kind === "each" ? splitSql(mode.sql) : undefined;
  const binds = mode.kind === "script" ? bindScript(script!, mode.bindings) : undefined;
  const conn = openDatabase(req.open);
  try {
    switch (mode.kind) {
      case "script": {
        const o = await runTransaction(conn, scriptPlan(script!, binds!), req.run);
        committed(o);
        return { ok: true, problems: [], changes: o.changes, attempts: o.attempts, waitedMs: o.waitedMs };
      }
      case "each": {
        const { parseRows, runEach } = await import("./batch");
        const r = await runEach(conn, script!, parseRows(mode.rows, mode.input), mode.batch, req.run, committed);
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
