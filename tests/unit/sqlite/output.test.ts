import { describe, expect, test } from "bun:test";
import { HeldText, createOutput, NoOutput, RawOutput, type RowOutput } from "../../../lib/sqlite/output";
import type { SqlValue } from "../../../lib/sqlite/params";
import { InvalidText, RowFormatter, TABLE_SIZING_ROWS } from "../../../lib/sqlite/format";
import { outputSink } from "../_helpers";

const dest = outputSink;

describe("HeldText", () => {
  test("text beyond the memory limit goes to a temp file and comes back in order, multi-byte characters intact", () => {
    const h = new HeldText(10);
    const parts = ["héllo ", "wörld ", "€€€€€€€€€€€€ ", "end"];
    for (const p of parts) h.write(p);
    expect(h.spilled).toBe(true);
    const d = dest();
    h.drainTo(d);
    expect(d.text).toBe(parts.join(""));
    h.write("again");
    const d2 = dest();
    h.drainTo(d2);
    expect(d2.text).toBe("again");
    h.close();
  });
  test("bytes that are not UTF-8 come back exact, from memory and from the temp file", () => {
    for (const limit of [1 << 20, 8]) {
      const h = new HeldText(limit);
      h.write("héllo\t");
      h.writeBytes(new Uint8Array([0x41, 0xc3, 0xff]));
      h.write("\n€ end\n");
      expect(h.spilled).toBe(limit === 8);
      const d = dest();
      h.drainTo(d);
      expect(d.bytes().toString("hex")).toBe(Buffer.concat([Buffer.from("héllo\t"), Buffer.from([0x41, 0xc3, 0xff]), Buffer.from("\n€ end\n")]).toString("hex"));
      h.close();
    }
  });
  test("reset drops what is held", () => {
    const h = new HeldText(4);
    h.write("abcdefgh");
    h.reset();
    h.write("x");
    const d = dest();
    h.drainTo(d);
    expect(d.text).toBe("x");
    h.close();
  });
});

/** A new attempt of `out` whose result has the one column v and has been given `values` as its rows. */
function attemptOf(out: RowOutput, ...values: SqlValue[]) {
  const a = out.attempt();
  a.begin(["v"]);
  for (const v of values) a.row([v]);
  return a;
}

describe("attempts", () => {
  test("a retried attempt prints nothing of itself; the committed one prints once", () => {
    const d = dest();
    const out = createOutput({ format: "json" }, d);
    attemptOf(out, 1n).discard();
    expect(d.text).toBe("");
    const a2 = attemptOf(out, 2n);
    expect(d.text).toBe("");
    a2.commit();
    out.end();
    expect(d.text).toBe('[\n{"v":2}\n]\n');
  });
  test("live streams at once; json separators continue across committed attempts", () => {
    const d = dest();
    const out = createOutput({ format: "json" }, d);
    const a = attemptOf(out, 1n);
    a.live();
    expect(d.text).toBe('[\n{"v":1}');
    a.row([2n]);
    expect(d.text).toBe('[\n{"v":1},\n{"v":2}');
    a.commit();
    attemptOf(out, 3n).commit();
    out.end();
    expect(JSON.parse(d.text)).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
  });
  test("a write failure at COMMIT says the transaction committed", () => {
    const out = createOutput({ format: "tsv" }, { write: () => {}, writeBytes: () => {}, flush: () => { throw Object.assign(new Error("no space"), { code: "ENOSPC" }); } });
    const a = attemptOf(out, "x");
    expect(() => a.commit()).toThrow(/had committed; do not run it again/);
  });
  test("raw keeps the first value of committed output only", () => {
    const out = new RawOutput();
    const a = out.attempt();
    a.row(["discarded"]);
    a.discard();
    const b = out.attempt();
    b.row(["first"]);
    b.row(["second"]);
    b.commit();
    expect(out.value).toBe("first");
  });
  test("a tsv row with text that is not UTF-8 goes out as bytes, held until COMMIT or live", () => {
    const d = dest();
    const out = createOutput({ format: "tsv" }, d);
    const a = out.attempt();
    expect(a.checksText).toBe(true);
    a.begin(["v"]);
    a.row(["ok"]);
    a.rowExact([new InvalidText(new Uint8Array([0x41, 0xc3]), "v", 2)]);
    expect(d.bytes().length).toBe(0);
    a.live();
    a.rowExact([new InvalidText(new Uint8Array([0xff]), "v", 3)]);
    a.commit();
    out.end();
    expect(d.bytes().toString("hex")).toBe("6f6b0a" + "41c30a" + "ff0a");
  });
  test("--quiet does not ask for text to be checked; raw only until it has its value", () => {
    expect(new NoOutput().attempt().checksText).toBe(false);
    const raw = new RawOutput();
    const a = raw.attempt();
    expect(a.checksText).toBe(true);
    a.rowExact([new InvalidText(new Uint8Array([0xff]), "v", 1)]);
    expect(a.checksText).toBe(false);
    a.commit();
    expect((raw.value as InvalidText).bytes).toEqual(new Uint8Array([0xff]));
  });
});

describe("RowFormatter table", () => {
  test("widths come from the first rows; a longer cell later widens its column from there on", () => {
    let text = "";
    const f = new RowFormatter({ format: "table" }, { write: (s) => void (text += s) });
    f.begin(["k"]);
    for (let i = 0; i < TABLE_SIZING_ROWS; i++) f.row(["a"]);
    f.row(["wider"]);
    f.end();
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("+---+");
    expect(lines[lines.length - 2]).toBe("| wider |");
    expect(lines[lines.length - 1]).toBe("+-------+");
  });
  test("an empty result still prints its header box", () => {
    let text = "";
    const f = new RowFormatter({ format: "table" }, { write: (s) => void (text += s) });
    f.begin(["a"]);
    f.end();
    expect(text).toBe("+---+\n| a |\n+---+\n");
  });
});
