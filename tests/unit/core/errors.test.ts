import { describe, expect, test } from "bun:test";
import {
  badValue,
  CantCreateError,
  displayPath,
  errorLine,
  fromErrno,
  IoError,
  NoInputError,
  noticeLine,
  PermissionError,
  SoftwareError,
  TempFailError,
  UsageError,
  withHint,
} from "../../../lib/core/errors";

describe("error values", () => {
  test("message is `<what>: <subject> (<hint>)` and the code is fixed per class", () => {
    const e = new UsageError({ what: "unknown option", subject: "--bogus", hint: "see x --help" });
    expect(e.message).toBe("unknown option: --bogus (see x --help)");
    expect(e.exitCode).toBe(64);
    expect(e.kind).toBe("usage");
  });
  test("the class description is the default `what`", () => {
    expect(new NoInputError({ subject: "a.db" }).message).toBe("does not exist: a.db");
  });
  test("TempFailError keeps attempts and waitedMs as fields", () => {
    const e = new TempFailError({ subject: "a.db", attempts: 9, waitedMs: 1234 });
    expect(e.exitCode).toBe(75);
    expect([e.attempts, e.waitedMs]).toEqual([9, 1234]);
  });
  test("fromErrno maps errno codes to design.md §2.1 kinds and keeps the cause", () => {
    const mk = (code: string) => Object.assign(new Error(code), { code });
    expect(fromErrno(mk("ENOENT"), { what: "cannot open", subject: "f" })).toBeInstanceOf(NoInputError);
    expect(fromErrno(mk("EACCES"), { what: "cannot open", subject: "f" })).toBeInstanceOf(PermissionError);
    expect(fromErrno(mk("EROFS"), { what: "cannot open", subject: "f" })).toBeInstanceOf(PermissionError);
    expect(fromErrno(mk("EISDIR"), { what: "cannot open", subject: "f" })).toBeInstanceOf(CantCreateError);
    const io = fromErrno(mk("ENOSPC"), { what: "cannot write", subject: "f" });
    expect(io).toBeInstanceOf(IoError);
    expect((io.cause as Error).message).toBe("ENOSPC");
    expect(io.errnoName).toBe("ENOSPC");
  });
});

describe("the one message builder", () => {
  const mk = (code: string) => Object.assign(new Error(code), { code });
  test("the errno name goes inside the hint, after the subject, with what it means", () => {
    expect(fromErrno(mk("EACCES"), { what: "cannot create temp file", subject: "conf/.x.tmp" }).message).toBe("cannot create temp file: conf/.x.tmp (EACCES: permission denied)");
    expect(fromErrno(mk("ENOSPC"), { what: "cannot write", subject: "f" }).message).toBe("cannot write: f (ENOSPC: no space left on device)");
  });
  test("a call site's own hint replaces the errno's meaning, the name stays", () => {
    expect(fromErrno(mk("ENOSPC"), { what: "cannot write temp file", subject: "f", hint: "file system full; FILE left unchanged" }).message).toBe(
      "cannot write temp file: f (ENOSPC: file system full; FILE left unchanged)",
    );
  });
  test("an error without an errno keeps its text in the hint", () => {
    expect(fromErrno(new Error("short read\nmore"), { what: "cannot read back", subject: "x" }).message).toBe("cannot read back: x (short read)");
  });
  test("one wording for a bad value of any option", () => {
    const e = badValue("timeout", "-5s", "a duration such as 250ms, 10s, 5m");
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe('bad value for --timeout: "-5s" (a duration such as 250ms, 10s, 5m)');
  });
  test("errorLine puts the command in front and gives a hint to errors that have none", () => {
    expect(errorLine("sqlite-exec", new UsageError({ what: "missing argument", subject: "DB" }))).toBe("sqlite-exec: missing argument: DB (see sqlite-exec --help)");
    expect(errorLine("git-lock", new TempFailError({ what: "lock still held", subject: "x.lock", attempts: 1, waitedMs: 0 }))).toBe("git-lock: lock still held: x.lock (try again later)");
    expect(errorLine("x", new SoftwareError({ what: "bug" }))).toContain("please report");
    expect(errorLine("x", new UsageError({ what: "w", hint: "own" }))).toBe("x: w (own)");
  });
  test("noticeLine has the same shape", () => {
    expect(noticeLine("atomic-write", "removed a dead writer's temp file", ".f.tmp")).toBe("atomic-write: removed a dead writer's temp file: .f.tmp");
  });
  test("withHint adds a note to the hint, keeps the class and fields, and adds it once", () => {
    const e = new UsageError({ what: "conflicting inputs", subject: "a and b", hint: "give SQL one way only" });
    const w = withHint(withHint(e, "did you mean --checkpoint=FULL?"), "did you mean --checkpoint=FULL?");
    expect(w).toBeInstanceOf(UsageError);
    expect(w.exitCode).toBe(64);
    expect(w.message).toBe("conflicting inputs: a and b (give SQL one way only; did you mean --checkpoint=FULL?)");
    expect(errorLine("p", w)).toBe("p: " + w.message);
    expect(e.hint).toBe("give SQL one way only");
  });
  test("displayPath shows a path under the current directory relative to it, anything else as it is", () => {
    const cwd = process.cwd();
    expect(displayPath(`${cwd}/conf/app.conf`)).toBe("conf/app.conf");
    expect(displayPath("/elsewhere/x")).toBe("/elsewhere/x");
    expect(displayPath("rel/x")).toBe("rel/x");
    expect(displayPath(cwd)).toBe(cwd);
  });
});
