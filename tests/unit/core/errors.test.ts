import { describe, expect, test } from "bun:test";
import { CantCreateError, fromErrno, IoError, NoInputError, PermissionError, TempFailError, UsageError } from "../../../lib/core/errors";

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
    expect(io.message).toBe("cannot write (ENOSPC): f");
    expect((io.cause as Error).message).toBe("ENOSPC");
  });
});
