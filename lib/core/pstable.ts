/**
 * The process table through ps(1) and lsof(8): the `portable` backend of
 * ./platform.ts, for systems without Linux's /proc (macOS, the BSDs) and, with
 * HARDSHELL_PLATFORM=portable, for testing that path on Linux.
 *
 * What it reads, with the POSIX / BSD / procps spellings every one of them accepts:
 * - `ps -A -o pid=,ppid=,pgid=,uid=,stat=,lstart=,comm=` once per snapshot
 *   (`ps -o ... -p PID` for one process): parent, process group, uid, state
 *   (first letter of STAT; Z is a zombie) and start time. `lstart` is printed
 *   as `Mon Nov 23 13:22:04 2026` in the C locale, which is forced; it is read
 *   as epoch SECONDS, the clock this backend records start times in
 *   (./liveness.ts never compares them with /proc ticks).
 * - `ps -A -o pid=,args=` for command lines: words split at spaces, so an
 *   argument with a space is split too (only the git -C/--git-dir evidence
 *   reads argv; see lib/git/gitproc.ts).
 * - `lsof -d cwd,txt -Ffn` once per snapshot for every process' working
 *   directory and executable; `lsof -Fpfn` once per snapshot for every open file. A process
 *   lsof may not inspect (another user, unless root) shows nothing: its cwd
 *   error is then EACCES, as /proc would say.
 * - Not available: a process' environment (macOS hides it; ps's `e` output
 *   cannot be split reliably): envVar() is always undefined, so evidence that
 *   needs GIT_DIR from an environment is missing on this backend.
 * Processes that come and go between the calls are seen or not, as with /proc;
 * callers re-check before acting. Each snapshot spawns ps once (twice with
 * command lines) and lsof at most twice.
 */
import { basename } from "node:path";
import { errnoOf } from "./errors";
import { ancestorsOf, fileId, type ProcStat } from "./procfs";

const COLS = "pid=,ppid=,pgid=,uid=,stat=,lstart=,comm=";
const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

let childEnv: Record<string, string | undefined> | undefined;
function run(argv: string[]): string | undefined {
  childEnv ??= { ...process.env, LC_ALL: "C", LANG: "C" };
  try {
    const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "ignore", env: childEnv });
    const out = r.stdout.toString();
    return r.success || out !== "" ? out : undefined;
  } catch {
    return undefined; // no such program
  }
}

/** `Mon Nov 23 13:22:04 2026` (ps lstart, C locale, local time) as epoch seconds. */
export function parseLstart(words: readonly string[]): number | undefined {
  const [, mon, day, hms, year] = words;
  const m = MONTHS[mon ?? ""];
  const t = /^(\d+):(\d+):(\d+)$/.exec(hms ?? "");
  if (m === undefined || !t) return undefined;
  const ms = new Date(Number(year), m, Number(day), Number(t[1]), Number(t[2]), Number(t[3])).getTime();
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

export interface PsRow extends ProcStat {
  pid: number;
  uid: number;
  /** Executable name (basename of ps's comm, which macOS prints as a path). */
  comm: string;
}

function parseRow(line: string): PsRow | undefined {
  const w = line.trim().split(/\s+/);
  if (w.length < 11) return undefined;
  const start = parseLstart(w.slice(5, 10));
  const row = { pid: Number(w[0]), ppid: Number(w[1]), pgrp: Number(w[2]), uid: Number(w[3]), state: (w[4] ?? "").charAt(0), startTime: start ?? NaN, comm: basename(w.slice(10).join(" ")) };
  return Number.isInteger(row.pid) && Number.isFinite(row.startTime) ? row : undefined;
}

function parseTable(text: string | undefined): PsRow[] | undefined {
  if (text === undefined) return undefined;
  const out: PsRow[] = [];
  for (const line of text.split("\n")) {
    const r = line.trim() ? parseRow(line) : undefined;
    if (r) out.push(r);
  }
  return out;
}

/** One process' row, or undefined when it is gone (or ps is missing). */
export function psStat(pid: number): PsRow | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return parseTable(run(["ps", "-o", COLS, "-p", String(pid)]))?.find((r) => r.pid === pid);
}

/** Every process ps shows; undefined when ps cannot run. */
export function psTable(): PsRow[] | undefined {
  return parseTable(run(["ps", "-A", "-o", COLS]));
}

/** lsof's -F output as records: one per process (`p`), each with its files (`f` fd, `n` name). */
function lsofFiles(args: string[]): Map<number, { fd: string; name: string }[]> {
  const out = new Map<number, { fd: string; name: string }[]>();
  const text = run(["lsof", "-w", "-n", "-P", ...args]);
  if (text === undefined) return out;
  let files: { fd: string; name: string }[] | undefined;
  let fd = "";
  for (const line of text.split("\n")) {
    const tag = line.charAt(0);
    const v = line.slice(1);
    if (tag === "p") out.set(Number(v), (files = []));
    else if (tag === "f") fd = v;
    else if (tag === "n" && files) files.push({ fd, name: v });
  }
  return out;
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) !== "ESRCH";
  }
}

/** One lazy view of the process table through ps and lsof (the ./procfs.ts snapshot's portable twin). */
export class PsSnapshot {
  readonly root = "";
  private table: Map<number, PsRow> | undefined;
  private args: Map<number, string[]> | undefined;
  private files = new Map<number, { cwd?: string; exe?: string; err?: string }>();
  private fds: Map<number, string[]> | undefined;
  private listedFiles = false;

  private rows(): Map<number, PsRow> {
    if (this.table) return this.table;
    this.table = new Map();
    for (const r of psTable() ?? []) this.table.set(r.pid, r);
    return this.table;
  }

  pids(): number[] {
    return [...this.rows().keys()];
  }
  comm(pid: number): string | undefined {
    return this.rows().get(pid)?.comm;
  }
  ppid(pid: number): number | undefined {
    return this.rows().get(pid)?.ppid;
  }
  startTime(pid: number): number | undefined {
    return this.rows().get(pid)?.startTime;
  }
  /** Start time in epoch ms, to the second ps prints. */
  startEpochMs(pid: number): number | undefined {
    const s = this.startTime(pid);
    return s === undefined ? undefined : s * 1000;
  }
  uid(pid: number): number | undefined {
    return this.rows().get(pid)?.uid;
  }

  cmdline(pid: number): string[] | undefined {
    if (!this.args) {
      this.args = new Map();
      for (const line of (run(["ps", "-A", "-o", "pid=,args="]) ?? "").split("\n")) {
        const m = /^\s*(\d+)\s+(.*)$/.exec(line);
        if (m) this.args.set(Number(m[1]), m[2]!.split(" ").filter((w) => w !== ""));
      }
    }
    return this.args.get(pid);
  }

  private cwdExe(pid: number): { cwd?: string; exe?: string; err?: string } {
    let f = this.files.get(pid);
    if (f) return f;
    if (!this.listedFiles) {
      // One lsof for every process' cwd and executable: a git-lock scan asks about each process.
      this.listedFiles = true;
      for (const [p, files] of lsofFiles(["-d", "cwd,txt", "-Ffn"])) {
        const e: { cwd?: string; exe?: string } = {};
        for (const x of files) {
          if (x.fd === "cwd") e.cwd ??= x.name;
          else if (x.fd === "txt") e.exe ??= x.name.replace(/ \(deleted\)$/, "");
        }
        this.files.set(p, e);
      }
      f = this.files.get(pid);
      if (f) return f;
    }
    f = {};
    // lsof showed nothing: the process ended since ps listed it (or is a zombie), or lsof may not inspect it.
    const row = this.rows().get(pid);
    f.err = row === undefined || row.state === "Z" || !exists(pid) ? "ESRCH" : "EACCES";
    this.files.set(pid, f);
    return f;
  }

  cwd(pid: number): string | undefined {
    return this.cwdExe(pid).cwd;
  }
  cwdError(pid: number): string | undefined {
    const f = this.cwdExe(pid);
    if (f.cwd === undefined && f.err === undefined) f.err = exists(pid) ? "EACCES" : "ESRCH";
    return f.err;
  }
  /** Not readable on this backend (see the module comment). */
  envVar(_pid: number, _name: string): string | undefined {
    return undefined;
  }
  exe(pid: number): string | undefined {
    return this.cwdExe(pid).exe;
  }
  exeId(pid: number): string | undefined {
    const e = this.exe(pid);
    return e === undefined ? undefined : fileId(e);
  }
  children(pid: number): number[] {
    const out: number[] = [];
    for (const r of this.rows().values()) if (r.ppid === pid && r.pid !== pid) out.push(r.pid);
    return out;
  }
  /** Absolute paths this process has open on numbered descriptors (lsof, all processes at once). */
  fdTargets(pid: number): string[] {
    if (!this.fds) {
      this.fds = new Map();
      for (const [p, files] of lsofFiles(["-Fpfn"])) {
        this.fds.set(
          p,
          files.filter((x) => /^\d/.test(x.fd) && x.name.startsWith("/")).map((x) => x.name),
        );
      }
    }
    return this.fds.get(pid) ?? [];
  }
  ancestors(pid: number): number[] {
    return ancestorsOf(pid, (p) => this.ppid(p));
  }
}
