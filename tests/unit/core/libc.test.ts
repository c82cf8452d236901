import { describe, expect, test } from "bun:test";
import { libcNames, openLibc } from "../../../lib/core/libc";

describe("the C library through bun:ffi", () => {
  test("each operating system tries its own C library first: libc on Linux, libSystem on macOS", () => {
    expect(libcNames("linux", "so")[0]).toBe("libc.so.6");
    expect(libcNames("darwin", "dylib")[0]).toBe("/usr/lib/libSystem.B.dylib");
    expect(libcNames("linux", "so")).toContain("/usr/lib/libSystem.B.dylib");
    expect(libcNames("linux", "so")).toContain("libc.musl-x86_64.so.1");
  });

  test("opens once per symbol set, and the symbols work", () => {
    const symbols = { getpid: { args: [], returns: "i32" } } as const;
    const a = openLibc(symbols);
    expect(a).not.toBeNull();
    expect(openLibc(symbols)).toBe(a);
    expect(a!.lib.symbols.getpid()).toBe(process.pid);
  });

  test("a set with a symbol no C library has is null, not an exception, and stays null", () => {
    const symbols = { hardshell_no_such_symbol: { args: [], returns: "i32" } } as const;
    expect(openLibc(symbols)).toBeNull();
    expect(openLibc(symbols)).toBeNull();
  });
});
