import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bindScript, parseBindings, parseParam, rowLookup, bindStatement } from "../../../lib/sqlite/params";
import { splitSql } from "../../../lib/sqlite/split";
import { NoInputError, UsageError } from "../../../lib/core/errors";
import { tempDir } from "../_helpers";

describe("parseParam", () => {
  test("text by default, typed on request", () => {
    expect(parseParam("a=007")).toEqual(["a", "007"]);
    expect(parseParam("a=x=y")).toEqual(["a", "x=y"]);
    expect(parseParam("n:int=-42")).toEqual(["n", -42n]);
    expect(parseParam("n:int=9223372036854775807")).toEqual(["n", 9223372036854775807n]);
    expect(parseParam("r:real=1.5")).toEqual(["r", 1.5]);
    expect(parseParam("z:null")).toEqual(["z", null]);
  });
  test("blob reads the file's bytes", () => {
    const dir = tempDir("hs-params-");
    writeFileSync(join(dir, "b"), new Uint8Array([0, 255, 10]));
    const [, v] = parseParam(`b:blob=@${join(dir, "b")}`);
    expect([...(v as Uint8Array)]).toEqual([0, 255, 10]);
    expect(() => parseParam(`b:blob=@${join(dir, "missing")}`)).toThrow(NoInputError);
  });
  test("bad specs are usage errors", () => {
    for (const bad of ["a", "n:int=1.5", "n:int=99999999999999999999", "r:real=x", "z:null=1", "b:blob=path", "x:date=1", "=1"]) {
      expect(() => parseParam(bad)).toThrow(UsageError);
    }
  });
});

describe("bindScript", () => {
  test("named values bind every spelling; ? takes --arg values in order across statements", () => {
    const stmts = splitSql("select :a, @a, $a, ?; select ?, ?3");
    const b = parseBindings(["a=x"], ["1", "2", "3"]);
    expect(bindScript(stmts, b)).toEqual([["x", "x", "x", "1"], ["2", null, "3"]]);
  });
  test("a missing value or a surplus --arg is a usage error", () => {
    expect(() => bindScript(splitSql("select :nope"), parseBindings())).toThrow(/no value for parameter: :nope/);
    expect(() => bindScript(splitSql("select ?"), parseBindings([], ["1", "2"]))).toThrow(/more --arg values/);
  });
  test("row lookups bind by field name, arrays by position", () => {
    const [s] = splitSql("insert into t values(:a, :b)");
    expect(bindStatement(s!, rowLookup({ a: "1", b: null }), () => new Error("missing"))).toEqual(["1", null]);
    expect(() => bindStatement(s!, rowLookup({ a: "1" }), (r) => new Error(`missing ${r.raw}`))).toThrow("missing :b");
    const [q] = splitSql("insert into t values(?, ?)");
    expect(bindStatement(q!, rowLookup([1n, "x"]), () => new Error("missing"))).toEqual([1n, "x"]);
  });
});
