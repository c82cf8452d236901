import { describe, expect, test } from "bun:test";
import { escapeCsv, escapeTsv, formatResults, rawValue, valueText } from "../../../lib/sqlite/format";
import { unescapeTsv } from "../../../lib/sqlite/batch";
import type { ResultSet } from "../../../lib/sqlite/run";

const sets: ResultSet[] = [
  { columns: ["id", "name", "score", "data"], rows: [[1n, "a\tb\nc\\d\re", 1.0, null], [9007199254740993n, "x,\"y\"", 2.5, new Uint8Array([0, 255])]] },
];

describe("formatResults", () => {
  test("tsv escapes tab, newline, CR and backslash so every row is one line", () => {
    const out = formatResults(sets, { format: "tsv", header: true, nullText: "NULL" });
    expect(out).toBe("id\tname\tscore\tdata\n1\ta\\tb\\nc\\\\d\\re\t1.0\tNULL\n9007199254740993\tx,\"y\"\t2.5\t00ff\n");
    expect(out.trimEnd().split("\n").length).toBe(3);
  });
  test("tsv escaping round-trips through the tsv input reader", () => {
    for (const s of ["plain", "a\tb", "line1\nline2", "back\\slash", "\\n literal", "cr\r", "'); DROP TABLE t; --"]) {
      expect(unescapeTsv(escapeTsv(s))).toBe(s);
    }
  });
  test("csv quotes fields with separators, quotes or line breaks", () => {
    expect(escapeCsv('x,"y"')).toBe('"x,""y"""');
    expect(formatResults(sets, { format: "csv" })).toBe('1,"a\tb\nc\\d\re",1.0,\n9007199254740993,"x,""y""",2.5,00ff\n');
  });
  test("json keeps 64-bit integers exact and NULL as null", () => {
    const out = formatResults(sets, { format: "json" });
    expect(out).toContain('"id":9007199254740993');
    expect(out).toContain('"data":null');
    expect(JSON.parse(out)).toHaveLength(2);
    expect(formatResults([], { format: "json" })).toBe("[]\n");
    const lines = formatResults(sets, { format: "jsonl" }).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).name)).toEqual(["a\tb\nc\\d\re", 'x,"y"']);
  });
  test("table aligns columns under a header", () => {
    const out = formatResults([{ columns: ["k", "v"], rows: [["a", 10n], ["bbb", 2n]] }], { format: "table" });
    expect(out).toBe("+-----+----+\n| k   | v  |\n+-----+----+\n| a   | 10 |\n| bbb |  2 |\n+-----+----+\n");
  });
  test("raw is the first column of the first row, unescaped", () => {
    expect(rawValue(sets)).toBe("1");
    expect(rawValue([{ columns: ["a"], rows: [] }, { columns: ["b"], rows: [["x\ny"]] }])).toBe("x\ny");
    expect(rawValue([{ columns: ["a"], rows: [[null]] }], "-")).toBe("-");
    expect(rawValue([])).toBeUndefined();
  });
  test("reals keep a visible fraction", () => {
    expect(valueText(3)).toBe("3.0");
    expect(valueText(0.1)).toBe("0.1");
    expect(valueText(3n)).toBe("3");
  });
});
