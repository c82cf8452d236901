import { describe, expect, test } from "bun:test";
import { BusyError, isBusyError } from "../../../lib/core/busy";
import { DotLockHeld } from "../../../lib/sqlite/dotlock";

describe("one busy marker", () => {
  test("every BusyError is recognised; other errors, SQLite look-alikes and non-errors are not", () => {
    class Held extends BusyError {}
    expect(isBusyError(new Held("x"))).toBe(true);
    expect(isBusyError(new DotLockHeld("/x.lock", { verdict: "held", ageMs: 0, reason: "r", holders: [] }))).toBe(true);
    expect(isBusyError(Object.assign(new Error("database is locked"), { name: "SQLiteError", errno: 5, code: "SQLITE_BUSY" }))).toBe(false);
    expect(isBusyError(undefined)).toBe(false);
    expect(isBusyError("busy")).toBe(false);
  });
});
