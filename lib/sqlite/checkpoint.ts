/**
 * The wal_checkpoint modes (https://sqlite.org/pragma.html#pragma_wal_checkpoint)
 * that `--checkpoint[=MODE]` accepts, in one place: the option table
 * (cmd/sqlite-exec.ts) offers them as choices on the hot path, and
 * ./maint.ts (loaded only for maintenance) runs the one given. A tiny module
 * so the option table does not load maint.ts.
 */
import { UsageError } from "../core/errors";

export const CHECKPOINT_MODES = ["PASSIVE", "FULL", "RESTART", "TRUNCATE"] as const;
export type CheckpointMode = (typeof CHECKPOINT_MODES)[number];

/** The mode to run for `--checkpoint[=MODE]`: PASSIVE when none is given, any case accepted. */
export function checkpointMode(mode: string): CheckpointMode {
  const m = (mode || "PASSIVE").toUpperCase();
  const found = CHECKPOINT_MODES.find((c) => c === m);
  if (!found) throw new UsageError({ what: "bad value for --checkpoint", subject: JSON.stringify(mode), hint: `one of ${CHECKPOINT_MODES.join(", ")}` });
  return found;
}
