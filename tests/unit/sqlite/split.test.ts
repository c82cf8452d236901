import { describe, expect, test } from "bun:test";
import { splitSql } from "../../../lib/sqlite/split";

const sqls = (text: string) => splitSql(text).map((s) => s.sql);

describe("splitSql", () => {
  test("splits on semicolons and drops empty statements", () => {
    expect(sqls("select 1; select 2;;  ;\n")).toEqual(["select 1", "select 2"]);
  });
  test("semicolons inside strings, identifiers and comments do not split", () => {
    const text = `insert into t values('a;b', "c;d", [e;f], \`g;h\`); -- x; y\n/* ; */ select 'it''s;'`;
    expect(sqls(text)).toEqual([`insert into t values('a;b', "c;d", [e;f], \`g;h\`)`, `-- x; y\n/* ; */ select 'it''s;'`]);
  });
  test("a CREATE TRIGGER body with CASE ... END stays one statement", () => {
    const text = `create table t(a); create temp trigger tr after insert on t begin
      update t set a = case when new.a > 1 then 1 else 0 end where rowid = new.rowid;
      select 1;
    end; select 2`;
    const out = splitSql(text);
    expect(out.length).toBe(3);
    expect(out[1]!.sql).toStartWith("create temp trigger");
    expect(out[1]!.sql).toEndWith("end");
    expect(out[2]!.sql).toBe("select 2");
  });
  test("records the line each statement starts on and its first keywords", () => {
    const out = splitSql("\n\nselect 1;\n  PRAGMA main.journal_mode = wal;\nexplain query plan select 2");
    expect(out.map((s) => s.line)).toEqual([3, 4, 5]);
    expect(out[1]!.words.slice(0, 4)).toEqual(["PRAGMA", "MAIN", ".", "JOURNAL_MODE"]);
    expect(out[2]!.words[0]).toBe("SELECT");
  });
  test("parameter indexes follow SQLite's rules", () => {
    const [s] = splitSql("select ?2, :a, ?, :a, @a, $b::c(x), ':not'");
    expect(s!.params.map((p) => [p.raw, p.index])).toEqual([
      ["?2", 2],
      [":a", 3],
      ["?", 4],
      ["@a", 5],
      ["$b::c(x)", 6],
    ]);
    expect(s!.paramCount).toBe(6);
  });
  test("an unterminated string runs to the end instead of splitting", () => {
    expect(sqls("select 'abc; select 2")).toEqual(["select 'abc; select 2"]);
  });
});
