/**
 * Result rows on their way out, across transaction attempts (design.md §5.4).
 *
 * The rule (README "Output"): a row is written as soon as no retry can repeat
 * it, and rows of an attempt that fails or is retried are never written:
 * - while an attempt can still be retried, its rows are HELD: formatted into
 *   memory, and beyond HOLD_IN_MEMORY bytes into an unlinked temp file in
 *   $TMPDIR (so memory stays bounded however many rows a write returns);
 * - `commit()` (the attempt's COMMIT succeeded) writes what is held and flushes;
 *   a write failure then says the transaction committed, so the caller does
 *   not run it again;
 * - `live()` (./run.ts calls it when a read-only transaction has fetched its
 *   first row: it holds its read lock or WAL snapshot until COMMIT, so no busy
 *   error and no retry can follow) writes what is held and streams the rest
 *   straight to the destination;
 * - `discard()` (rollback, retry, error) drops what is held and rewinds the
 *   formatter (json's separators), so the retried attempt prints as if first.
 *
 * What a reader of stdout can observe: rows of a committed transaction (or of a
 * read-only one that is past its first row), in order, never twice. A failure
 * after rows were streamed (signal, --deadline, I/O error, text that is not
 * UTF-8 refused by json/jsonl/table, in a read-only script) leaves the rows
 * written so far; the exit code says it failed, and the database is
 * unchanged. json output is then not closed.
 * Text is written as UTF-8, except a row with an InvalidText (./format.ts),
 * which goes out as bytes, held or live like any row, so the stored bytes
 * reach stdout unchanged (never decoded and re-encoded on the way).
 *
 * Out of scope: formatting (./format.ts), when an attempt is live (./run.ts).
 * Calling sequence: createOutput(opts, dest) once; per attempt attempt() ->
 * begin/row... -> live? -> commit | discard; end() after the last transaction.
 */
import { fromErrno } from "../core/errors";
import { ScratchFile, scratchPath } from "../core/scratch";
import { RowFormatter, type CellValue, type FormatOptions, type TextSink } from "./format";
import type { SqlValue } from "./params";

/**
 * Held text beyond this many bytes goes to a temp file. Small on purpose: each spill joins and
 * encodes what is held, and at 4 MiB that garbage outran the collector (a writing script returning
 * 1M rows peaked at +130 MiB over a trivial call; at 512 KiB it is the same as a streamed SELECT).
 */
export const HOLD_IN_MEMORY = 512 * 1024;

export interface Destination {
  write(s: string): void;
  /** Bytes, after the text written before them (held rows from the temp file; a line with text that is not UTF-8). */
  writeBytes(b: Uint8Array): void;
  flush(): void;
}

export interface AttemptRows {
  begin(columns: string[]): void;
  row(values: SqlValue[]): void;
  /** A row holding an InvalidText: bytes in tsv/csv/raw, refused (InvalidTextError) by json, jsonl and table. */
  rowExact(values: CellValue[]): void;
  /** Do printed values depend on text being exact? False for --quiet: run.ts then skips reading bytes back (./exact.ts). */
  readonly checksText: boolean;
  /** This attempt can no longer be retried: write what is held, stream the rest. */
  live(): void;
  readonly isLive: boolean;
  /** The attempt committed: write everything it held. */
  commit(): void;
  /** The attempt failed or will be retried: drop its rows. */
  discard(): void;
}

export interface RowOutput {
  attempt(): AttemptRows;
  /** After the last transaction committed: close the output (json's `]`). */
  end(): void;
}

/** Text held until COMMIT: memory first, then a scratch file (../core/scratch.ts). */
export class HeldText implements TextSink {
  private parts: (string | Uint8Array)[] = [];
  private size = 0;
  private hasBytes = false;
  private file: ScratchFile | undefined;

  constructor(private readonly limit = HOLD_IN_MEMORY) {}

  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) this.spill();
  }

  writeBytes(b: Uint8Array): void {
    this.parts.push(b);
    this.hasBytes = true;
    this.size += b.length;
    if (this.size >= this.limit) this.spill();
  }

  get spilled(): boolean {
    return this.file !== undefined;
  }

  private spill(): void {
    this.file ??= new ScratchFile(scratchPath("sqlite-exec-rows"));
    const parts = this.parts;
    this.file.append(this.hasBytes ? Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p))) : Buffer.from((parts as string[]).join("")));
    this.parts = [];
    this.size = 0;
    this.hasBytes = false;
  }

  /** Write everything held to `dest`, in order, then forget it. The temp file's bytes go out as they are. */
  drainTo(dest: Destination): void {
    const file = this.file;
    if (file && file.size > 0) {
      const chunk = Buffer.allocUnsafe(1024 * 1024);
      let pos = 0;
      while (pos < file.size) {
        const n = file.read(chunk, 0, Math.min(chunk.length, file.size - pos), pos);
        if (n <= 0) break;
        pos += n;
        dest.writeBytes(chunk.subarray(0, n));
      }
    }
    for (const p of this.parts) {
      if (typeof p === "string") dest.write(p);
      else dest.writeBytes(p);
    }
    this.reset();
  }

  reset(): void {
    this.parts = [];
    this.size = 0;
    this.hasBytes = false;
    this.file?.reset();
  }

  close(): void {
    this.reset();
    this.file?.close();
    this.file = undefined;
  }
}

function wrapWrite(dest: Destination, hint: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    throw fromErrno(err, { what: "cannot write output", subject: "stdout", hint });
  }
}

export const COMMITTED_NOTE = "the transaction had committed; do not run it again";
const UNCHANGED_NOTE = "nothing was changed";

/** Rows formatted as text (tsv, csv, json, jsonl, table). */
class FormattedOutput implements RowOutput {
  private readonly held = new HeldText();
  private readonly fmt: RowFormatter;
  private live = false;
  private committedWrites = false;

  constructor(
    o: FormatOptions,
    private readonly dest: Destination,
  ) {
    this.fmt = new RowFormatter(o, {
      write: (s) => (this.live ? this.writeLive(s) : this.held.write(s)),
      writeBytes: (b) => (this.live ? wrapWrite(this.dest, UNCHANGED_NOTE, () => this.dest.writeBytes(b)) : this.held.writeBytes(b)),
    });
  }

  private writeLive(s: string): void {
    wrapWrite(this.dest, UNCHANGED_NOTE, () => this.dest.write(s));
  }

  attempt(): AttemptRows {
    const saved = this.fmt.state();
    this.live = false;
    const self = this;
    const fmt = this.fmt;
    return {
      begin: (c) => fmt.begin(c),
      row: (v) => fmt.row(v),
      rowExact: (v) => fmt.rowExact(v),
      checksText: true,
      get isLive() {
        return self.live;
      },
      live() {
        if (self.live) return;
        wrapWrite(self.dest, UNCHANGED_NOTE, () => self.held.drainTo(self.dest));
        self.live = true;
      },
      commit() {
        fmt.close();
        // Live means read-only (./run.ts): nothing was changed, so the caller may safely run it again.
        if (!self.live) self.committedWrites = true;
        wrapWrite(self.dest, self.live ? UNCHANGED_NOTE : COMMITTED_NOTE, () => {
          self.held.drainTo(self.dest);
          self.dest.flush();
        });
        self.live = false;
      },
      discard() {
        self.held.reset();
        if (!self.live) fmt.restore(saved);
        self.live = false;
      },
    };
  }

  end(): void {
    wrapWrite(this.dest, this.committedWrites ? COMMITTED_NOTE : UNCHANGED_NOTE, () => {
      this.fmt.end();
      this.held.drainTo(this.dest);
      this.dest.flush();
    });
    this.held.close();
  }
}

/** --raw: only the first value of the first row of the committed output. */
export class RawOutput implements RowOutput {
  value: CellValue | undefined;
  attempt(): AttemptRows {
    const self = this;
    let candidate: CellValue | undefined;
    let live = false;
    const row = (v: CellValue[]) => {
      if (this.value === undefined && candidate === undefined) candidate = v[0] ?? null;
    };
    return {
      begin: () => {},
      row,
      // The value goes out as its bytes (rawText), so text that is not UTF-8 is exact here too.
      rowExact: row,
      // Only the first value is printed: once it is chosen, later rows need no check.
      get checksText() {
        return self.value === undefined && candidate === undefined;
      },
      get isLive() {
        return live;
      },
      live: () => {
        live = true;
      },
      commit: () => {
        if (this.value === undefined) this.value = candidate;
      },
      discard: () => {
        candidate = undefined;
      },
    };
  }
  end(): void {}
}

/** --quiet: rows are fetched (the statements run) and dropped. */
export class NoOutput implements RowOutput {
  attempt(): AttemptRows {
    return { begin() {}, row() {}, rowExact() {}, checksText: false, isLive: false, live() {}, commit() {}, discard() {} };
  }
  end(): void {}
}

export function createOutput(o: FormatOptions, dest: Destination): RowOutput {
  return new FormattedOutput(o, dest);
}
