/**
 * One naming scheme for the files hardshell keeps beside a user's file while
 * it works, and one sweep that removes those a SIGKILLed process left:
 *
 *     .<FILE>.hardshell-<pid>-<tag>.<kind>
 *
 * - hidden, tied to FILE (its first 180 bytes, so the name stays within
 *   NAME_MAX for any FILE), carrying its owner's pid so a later run can tell
 *   debris from work in progress, and an 8-hex-digit random tag so names
 *   never clash;
 * - `kind` says what it is: `tmp` new content being written (atomic-write's
 *   temp file, sqlite-exec --backup's copy), `stale` a stale lock moved aside
 *   to be removed (./takeover.ts), `rm` a git lock moved aside to be removed
 *   (lib/git/remove.ts).
 *
 * `sweepDead` removes the entries of one FILE and kind whose pid is `dead` on
 * this host (./liveness.ts): a running or `unknown` pid keeps its file, so a
 * slow writer is never robbed; our own pid is skipped. A `tmp` entry is only
 * ever a regular file we created, so a directory of that name is left alone.
 * In a world-writable sticky directory (/tmp) only the caller's own regular
 * files (and, for the kinds that move a lock aside, directories) go: a file
 * named like our debris but planted by another user, or a symlink, is not
 * ours to delete (the sticky bit would refuse that to anybody but root; root
 * gets the same rule from us). On a
 * directory shared between hosts (NFS) a pid only means something on the host
 * that wrote it: there the sweep may leave debris, and removes a live
 * writer's file only if a dead local pid happens to match.
 * What a crash leaves is removed by the next run that sweeps FILE's
 * directory for that kind; nothing here prints or exits.
 */
import { lstatSync, readdirSync, rmSync, type Stats } from "node:fs";
import { join } from "node:path";
import { pidLiveness } from "./liveness";

export type TempKind = "tmp" | "stale" | "rm";

const MAX_BASE = 180;
const MARK = ".hardshell-";

/** FILE's name cut to at most 180 bytes, on a character boundary. */
export function shortBase(base: string): string {
  if (Buffer.byteLength(base) <= MAX_BASE) return base;
  let out = "";
  for (const ch of base) {
    if (Buffer.byteLength(out + ch) > MAX_BASE) break;
    out += ch;
  }
  return out;
}

/** 8 random hex digits. */
export function randomTag(): string {
  return Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, "0");
}

/** The name of a `kind` file for `base` owned by `pid`. */
export function hardshellName(base: string, kind: TempKind, pid: number = process.pid, tag: string = randomTag()): string {
  return `.${shortBase(base)}${MARK}${pid}-${tag}.${kind}`;
}

/**
 * The owner pid in a `kind` name of `base`, or undefined when `name` is not
 * one. Also read, so that debris already on disk is swept too: tags of up to
 * 16 base-36 characters (6-character ones name the backup temp files of
 * releases before this scheme) and the aside name
 * `.<base>.hardshell-stale-<pid>-<tag>` those releases gave a stale lock.
 */
export function hardshellNameOwner(base: string, kind: TempKind, name: string): number | undefined {
  const prefix = `.${shortBase(base)}${MARK}`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  const m = rest.endsWith(`.${kind}`)
    ? /^(\d+)-[0-9a-z]{1,16}$/.exec(rest.slice(0, -kind.length - 1))
    : kind === "stale"
      ? /^stale-(\d+)-[0-9a-f]{8}$/.exec(rest)
      : null;
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** A world-writable directory with the sticky bit (/tmp): everybody's files side by side. */
function isSharedSticky(dir: string): boolean {
  try {
    return (lstatSync(dir).mode & 0o1002) === 0o1002;
  } catch {
    return true; // cannot tell: be as careful as in /tmp
  }
}

function ownedByCaller(st: Stats): boolean {
  return (st.isFile() || st.isDirectory()) && st.uid === (process.geteuid?.() ?? -1);
}

/**
 * Remove `kind` files of `base` in `dir` whose owner pid is dead (see the
 * module comment). Directories (a lock moved aside) are removed with their
 * contents. Returns the removed paths.
 */
export function sweepDead(dir: string, base: string, kind: TempKind): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  let onlyMine: boolean | undefined;
  for (const name of names) {
    const pid = hardshellNameOwner(base, kind, name);
    if (pid === undefined || pid === process.pid) continue;
    if (pidLiveness(pid) !== "dead") continue;
    const p = join(dir, name);
    onlyMine ??= isSharedSticky(dir);
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue; // another sweeper got it
    }
    if (kind === "tmp" && st.isDirectory()) continue; // not a temp file of ours
    if (onlyMine && !ownedByCaller(st)) continue;
    try {
      rmSync(p, { recursive: st.isDirectory(), force: true });
      removed.push(p);
    } catch {
      /* not ours to remove, or being removed by another sweeper: leave it */
    }
  }
  return removed;
}
