import { describe, expect, test } from "bun:test";
import { parseRows } from "../../../lib/sqlite/batch";
import { DataError } from "../../../lib/core/errors";

const all = (text: string, f: "jsonl" | "tsv" | "csv") => [...parseRows(text, f)];
function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error("expected a DataError");
}

describe("parseRows", () => {
  test("jsonl: objects by name, arrays by position, types mapped, blank lines skipped but counted", () => {
    const rows = all('{"a":1,"b":"x","c":1.5,"d":null,"e":true,"f":{"g":1}}\n\n[1,"y"]\n', "jsonl");
    expect(rows[0]).toEqual({ line: 1, fields: { a: 1n, b: "x", c: 1.5, d: null, e: 1n, f: '{"g":1}' } });
    expect(rows[1]).toEqual({ line: 3, fields: [1n, "y"] });
  });
  test("jsonl: a malformed row names its line", () => {
    const e = dataError(() => all('{"a":1}\n{"a":2}\n{"a":\n', "jsonl"));
    expect(e.subject).toBe("line 3");
    expect(dataError(() => all('{"a":1}\n42\n', "jsonl")).subject).toBe("line 2");
  });
  test("tsv: header line, escapes undone, \\N is NULL, wrong field count names the line", () => {
    const rows = all("a\tb\nx\\ty\t\\N\nplain\tz\\\\\n", "tsv");
    expect(rows).toEqual([
      { line: 2, fields: { a: "x\ty", b: null } },
      { line: 3, fields: { a: "plain", b: "z\\" } },
    ]);
    expect(dataError(() => all("a\tb\n1\t2\n3\n", "tsv")).subject).toBe("line 3");
  });
  test("csv: quoted fields with commas, quotes and line breaks; rows numbered by their first line", () => {
    const rows = all('a,b\n"x,1","he said ""hi"""\n"multi\nline",2\r\n3,4\n', "csv");
    expect(rows).toEqual([
      { line: 2, fields: { a: "x,1", b: 'he said "hi"' } },
      { line: 3, fields: { a: "multi\nline", b: "2" } },
      { line: 5, fields: { a: "3", b: "4" } },
    ]);
    expect(dataError(() => all('a,b\n1,2\n"open,3\n', "csv")).subject).toBe("line 3");
    expect(dataError(() => all("a,b\n1,2,3\n", "csv")).subject).toBe("line 2");
  });
  test("parsing is lazy: rows before a malformed one are delivered first", () => {
    const it = parseRows('{"a":1}\nnope\n', "jsonl");
    expect(it.next().value).toEqual({ line: 1, fields: { a: 1n } });
    expect(() => it.next()).toThrow(DataError);
  });
});
