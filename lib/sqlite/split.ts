/**
 * SQL script splitter: one script text -> the list of its statements, with the
 * parameters each one uses.
 *
 * Why: bun:sqlite's `db.prepare()`/`db.query()` compile only the FIRST
 * statement of a multi-statement string and silently ignore the rest, so
 * sqlite-exec must cut the script itself before running it statement by statement.
 *
 * Contract:
 * - Pure text processing; no database, no I/O. Nothing here can be observed by
 *   a concurrent reader, and a crash here changes nothing.
 * - A `;` ends a statement except inside '…' strings, "…" / `…` / […]
 *   identifiers, -- and /* *\/ comments, and inside a CREATE TRIGGER body, which
 *   ends only at `; END ;` — the same rule as SQLite's own sqlite3_complete()
 *   (https://sqlite.org/c3ref/complete.html: "the trigger is not complete until
 *   the END keyword ... followed by a semicolon"). A CASE … END inside a trigger
 *   body does not end it because its END does not follow a `;`.
 * - Statements that are only whitespace/comments (`;;`) are dropped.
 * - Malformed text (an unterminated string or comment) is not an error here:
 *   it runs to the end of the script and SQLite reports it when preparing.
 * - Parameters follow https://sqlite.org/lang_expr.html#varparam and the index
 *   rules of https://sqlite.org/c3ref/bind_blob.html: `?NNN` has index NNN,
 *   `?` the largest index so far + 1, `:AAA` `@AAA` `$AAA` reuse the index of
 *   the same spelling or take largest + 1. Tcl-style `$a::b(x)` suffixes are
 *   part of the name, as in SQLite's tokenizer.
 *
 * Calling sequence: `splitSql(text)` once per script; the runner prepares
 * `stmt.sql` and binds by `stmt.params[i].index`.
 */

export type ParamKind = "anon" | "numbered" | "named";

export interface ParamRef {
  kind: ParamKind;
  /** As written: "?", "?3", ":name", "@name", "$name". */
  raw: string;
  /** Name without its prefix character (named parameters only). */
  name?: string;
  /** 1-based SQLite bind index. */
  index: number;
}

export interface SqlStatement {
  sql: string;
  /** 1-based line of the statement's first significant character in the script. */
  line: number;
  /** First keywords, upper-cased (after EXPLAIN [QUERY PLAN]): e.g. ["PRAGMA", "JOURNAL_MODE"]. */
  words: string[];
  /** Distinct parameters in index order. */
  params: ParamRef[];
  /** Number of bind slots SQLite will report (largest index). */
  paramCount: number;
}

const isIdStart = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
const isIdChar = (c: number) => isIdStart(c) || (c >= 48 && c <= 57) || c === 36;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12;

interface Builder {
  start: number;
  firstSig: number;
  words: string[];
  /** Significant tokens so far, upper-cased keywords, ";" for semicolons (only the last few are kept). */
  tail: string[];
  inTrigger: boolean;
  params: Map<string, ParamRef>;
  maxIndex: number;
}

function newBuilder(start: number): Builder {
  return { start, firstSig: -1, words: [], tail: [], inTrigger: false, params: new Map(), maxIndex: 0 };
}

/** Split a script into statements. */
export function splitSql(text: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  const n = text.length;
  let b = newBuilder(0);
  let i = 0;

  const lineAt = (() => {
    let lastPos = 0;
    let lastLine = 1;
    return (pos: number) => {
      // positions are asked for in increasing order
      for (let k = lastPos; k < pos; k++) if (text.charCodeAt(k) === 10) lastLine++;
      lastPos = pos;
      return lastLine;
    };
  })();

  const sig = (pos: number) => {
    if (b.firstSig < 0) b.firstSig = pos;
  };
  const pushToken = (tok: string) => {
    if (b.words.length < 6) b.words.push(tok);
    b.tail.push(tok);
    if (b.tail.length > 3) b.tail.shift();
    if (!b.inTrigger) b.inTrigger = isTriggerStart(b.words);
  };
  const finish = (end: number) => {
    if (b.firstSig >= 0) {
      const sql = text.slice(b.start, end).trim();
      const params = [...b.params.values()].sort((x, y) => x.index - y.index);
      out.push({ sql, line: lineAt(b.firstSig), words: stripExplain(b.words), params, paramCount: b.maxIndex });
    }
  };
  const addParam = (raw: string, kind: ParamKind, name?: string, number?: number) => {
    const key = kind === "anon" ? `?#${b.maxIndex + 1}` : raw;
    if (kind === "numbered") {
      const idx = number!;
      const existing = b.params.get(raw);
      if (!existing) b.params.set(raw, { kind, raw, index: idx });
      b.maxIndex = Math.max(b.maxIndex, idx);
      return;
    }
    if (kind === "named" && b.params.has(key)) return;
    const idx = b.maxIndex + 1;
    b.maxIndex = idx;
    b.params.set(key, { kind, raw, name, index: idx });
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // -- comment
    if (c === 45 && text.charCodeAt(i + 1) === 45) {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    // /* comment */
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const endc = text.indexOf("*/", i + 2);
      i = endc < 0 ? n : endc + 2;
      continue;
    }
    if (c === 59) {
      // ';' ends the statement, unless inside a CREATE TRIGGER body not yet at `; END ;`
      if (b.inTrigger) {
        const t = b.tail;
        const endsTrigger = t.length >= 2 && t[t.length - 1] === "END" && t[t.length - 2] === ";";
        if (!endsTrigger) {
          pushToken(";");
          i++;
          continue;
        }
      }
      finish(i);
      i++;
      b = newBuilder(i);
      continue;
    }
    sig(i);
    // quoted: 'str', "id", `id` (doubled quote escapes), [id] (no escape)
    if (c === 39 || c === 34 || c === 96) {
      const q = text[i]!;
      let j = i + 1;
      for (;;) {
        const k = text.indexOf(q, j);
        if (k < 0) {
          j = n;
          break;
        }
        if (text[k + 1] === q) {
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      pushToken(c === 39 ? "'" : "ID");
      i = j;
      continue;
    }
    if (c === 91) {
      const k = text.indexOf("]", i + 1);
      i = k < 0 ? n : k + 1;
      pushToken("ID");
      continue;
    }
    if (c === 63) {
      // ?NNN or ?
      let j = i + 1;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      if (j > i + 1) addParam(text.slice(i, j), "numbered", undefined, Number(text.slice(i + 1, j)));
      else addParam("?", "anon");
      pushToken("?");
      i = j;
      continue;
    }
    if ((c === 58 || c === 64 || c === 36) && i + 1 < n && isIdChar(text.charCodeAt(i + 1))) {
      // :name @name $name (with Tcl-style ::x and (suffix) for all three, like SQLite's tokenizer)
      let j = i + 1;
      for (;;) {
        while (j < n && isIdChar(text.charCodeAt(j))) j++;
        if (text.charCodeAt(j) === 58 && text.charCodeAt(j + 1) === 58) {
          j += 2;
          continue;
        }
        if (text.charCodeAt(j) === 40) {
          const k = text.indexOf(")", j);
          if (k >= 0) j = k + 1;
        }
        break;
      }
      const raw = text.slice(i, j);
      addParam(raw, "named", raw.slice(1));
      pushToken("?");
      i = j;
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(text.charCodeAt(j))) j++;
      // x'..' blob literal: let the quote branch take the string
      pushToken(text.slice(i, j).toUpperCase());
      i = j;
      continue;
    }
    if (isDigit(c)) {
      let j = i + 1;
      while (j < n && (isIdChar(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) j++;
      pushToken("N");
      i = j;
      continue;
    }
    pushToken(text[i]!);
    i++;
  }
  finish(n);
  return out;
}

function stripExplain(words: string[]): string[] {
  let w = words;
  if (w[0] === "EXPLAIN") w = w[1] === "QUERY" && w[2] === "PLAN" ? w.slice(3) : w.slice(1);
  return w;
}

/** CREATE [TEMP|TEMPORARY] TRIGGER, optionally after EXPLAIN [QUERY PLAN]. */
function isTriggerStart(words: string[]): boolean {
  const w = stripExplain(words);
  if (w[0] !== "CREATE") return false;
  if (w[1] === "TRIGGER") return true;
  return (w[1] === "TEMP" || w[1] === "TEMPORARY") && w[2] === "TRIGGER";
}
