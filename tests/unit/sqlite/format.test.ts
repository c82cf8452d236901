import { describe, expect, test } from "bun:test";
import { escapeCsv, escapeCsvBytes, escapeTsv, escapeTsvBytes, formatResults, InvalidText, rawText, rawValue, RowFormatter, valueText } from "../../../lib/sqlite/format";
import { InvalidTextError } from "../../../lib/sqlite/errors";
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

describe("text that is not valid UTF-8 (InvalidText)", () => {
  const bad = (hex: string) => new InvalidText(new Uint8Array(Buffer.from(hex, "hex")), "v", 2, "line 1");
  const run = (format: "tsv" | "csv" | "json" | "jsonl" | "table") => {
    const chunks: Buffer[] = [];
    const f = new RowFormatter({ format, nullText: "N" }, { write: (s) => void chunks.push(Buffer.from(s)), writeBytes: (b) => void chunks.push(Buffer.from(b)) });
    f.begin(["id", "v", "w"]);
    f.row([1n, "plain", null]);
    f.rowExact([2n, bad("41c3095c0a"), 'x,"y']);
    return Buffer.concat(chunks).toString("hex");
  };
  test("tsv writes the stored bytes, escaping tab, newline and backslash as for any text", () => {
    expect(run("tsv")).toBe(Buffer.from("1\tplain\tN\n2\t").toString("hex") + "41c3" + Buffer.from("\\t\\\\\\n\t" + 'x,"y' + "\n").toString("hex"));
  });
  test("csv writes the stored bytes, quoted when they hold a separator", () => {
    expect(escapeCsvBytes(new Uint8Array(Buffer.from("41c3", "hex")))).toEqual(new Uint8Array([0x41, 0xc3]));
    expect(Buffer.from(escapeCsvBytes(new Uint8Array(Buffer.from('a"\xff,', "latin1")))).toString("latin1")).toBe('"a""\xff,"');
    expect(run("csv")).toBe(Buffer.from("1,plain,N\n2,").toString("hex") + "2241c3095c0a22" + Buffer.from(',"x,""y"\n').toString("hex"));
  });
  test("escapeTsvBytes leaves bytes of invalid sequences alone", () => {
    expect(Buffer.from(escapeTsvBytes(new Uint8Array([0xff, 0x09, 0xc3, 0x0d]))).toString("hex")).toBe("ff5c74c35c72");
  });
  test("json, jsonl and table refuse with 65, naming column, row and statement", () => {
    for (const f of ["json", "jsonl", "table"] as const) {
      let err: unknown;
      try {
        run(f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidTextError);
      expect((err as InvalidTextError).exitCode).toBe(65);
      expect((err as Error).message).toBe(
        `text that is not valid UTF-8 cannot be printed as ${f}: column v, row 2 [line 1] (select CAST(v AS BLOB) to see its bytes as hex, or print it with --format tsv, csv or --raw)`,
      );
    }
  });
  test("--raw prints an InvalidText as its bytes", () => {
    expect(rawText(bad("ff00"))).toEqual(new Uint8Array([0xff, 0x00]));
  });
});
