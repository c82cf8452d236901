/**
 * Temp files of atomic-write: where they live, what they are called, how a
 * later run recognises the debris of a SIGKILLed writer.
 *
 * Contract:
 * - The temp file lives in the target's own directory, so the final rename(2)
 *   never crosses a file system (rename(2): EXDEV) and is atomic.
 * - It is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: never an existing
 *   file, never through a planted symlink, unreadable to others until the
 *   commit gives it its final mode. It is opened read-write: --print-hash reads
 *   back what it holds (bytes that came by splice or clone never passed through us).
 * - Its name is `.<FILE>.hardshell-<pid>-<random>.tmp`: hidden, tied to FILE,
 *   and the writer's pid can be read back from it. `sweepDeadTemps` removes
 *   those of FILE whose pid is `dead` on this host (lib/core/liveness.ts); a pid that
 *   is running or `unknown` keeps its file — a slow writer is never robbed.
 *   Caveat: on a directory shared between hosts (NFS) a pid is only meaningful
 *   on the host that wrote it; there the sweep may leave debris, never remove
 *   a live writer's file unless a dead local pid happens to match.
 * - A directory that exists but whose file system refuses O_CREAT (/proc answers ENOENT) is
 *   UncreatableDirError (77), not "does not exist": FILE is there, it just cannot be replaced.
 * - In a world-writable sticky directory (/tmp) the sweep removes only temp files owned by the
 *   caller: a file named like our debris but planted by another user is not ours to delete (the
 *   sticky bit would refuse that to anybody but root; root gets the same rule from us).
 * - Very long names are shortened (the name keeps FILE's first characters, at most 180 bytes), so a
 *   255-byte FILE name still gets a temp name within NAME_MAX.
 */
import { constants as fsc, lstatSync, openSync, readdirSync, unlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import { displayPath, errnoOf, fromErrno } from "../core/errors";
import { pidLiveness } from "../core/liveness";
import { isSharedStickyDir, UncreatableDirError } from "./errors";

const MAX_BASE = 180;
const MARK = ".hardshell-";

function shortBase(base: string): string {
  if (Buffer.byteLength(base) <= MAX_BASE) return base;
  let out = "";
  for (const ch of base) {
    if (Buffer.byteLength(out + ch) > MAX_BASE) break;
    out += ch;
  }
  return out;
}

function randomTag(): string {
  return Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, "0");
}

/** Temp name for `base` written by `pid`. */
export function tempName(base: string, pid: number = process.pid, tag: string = randomTag()): string {
  return `.${shortBase(base)}${MARK}${pid}-${tag}.tmp`;
}

/** The writer pid encoded in a temp name of `base`, or undefined if `name` is not one. */
export function tempOwnerPid(base: string, name: string): number | undefined {
  const prefix = `.${shortBase(base)}${MARK}`;
  if (!name.startsWith(prefix) || !name.endsWith(".tmp")) return undefined;
  const m = /^(\d+)-[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export interface TempFile {
  path: string;
  fd: number;
  /** `path` as messages name it: FILE's directory as the user typed it + the temp's name. */
  shown: string;
}

/**
 * Create a fresh temp file for `base` in `dir`, exclusively, mode 0600. `show(name)` names an
 * entry of `dir` in messages (the directory as the user typed it + name); default: relative to the cwd.
 */
export function createTemp(dir: string, base: string, show: (name: string) => string = (n) => displayPath(join(dir, n))): TempFile {
  for (let i = 0; ; i++) {
    const name = tempName(base);
    const path = join(dir, name);
    try {
      const fd = openSync(path, fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL | (fsc.O_NOFOLLOW ?? 0), 0o600);
      return { path, fd, shown: show(name) };
    } catch (err) {
      const code = errnoOf(err);
      if (code === "EEXIST" && i < 16) continue; // a name clash with a debris file: pick another
      if (code === "ENOENT" && isDirectory(dir)) {
        const shownTarget = show(base);
        const shownDir = shownTarget.includes("/") ? shownTarget.slice(0, shownTarget.lastIndexOf("/")) || "/" : ".";
        throw new UncreatableDirError({ dir, target: join(dir, base), errno: code, cause: err, shownDir, shownTarget });
      }
      throw fromErrno(err, { what: "cannot create temp file", subject: show(name), subjectAsTyped: true });
    }
  }
}

/** Remove temp files of `base` in `dir` whose writer is dead. Returns the removed paths. */
export function sweepDeadTemps(dir: string, base: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  let onlyMine: boolean | undefined;
  for (const name of names) {
    const pid = tempOwnerPid(base, name);
    if (pid === undefined || pid === process.pid) continue;
    if (pidLiveness(pid) !== "dead") continue;
    const p = join(dir, name);
    onlyMine ??= isSharedSticky(dir);
    if (onlyMine && !ownedByCaller(p)) continue;
    try {
      unlinkSync(p);
      removed.push(p);
    } catch {
      /* gone already, or not ours to remove: leave it */
    }
  }
  return removed;
}

function isDirectory(dir: string): boolean {
  try {
    return lstatSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function isSharedSticky(dir: string): boolean {
  try {
    return isSharedStickyDir(lstatSync(dir));
  } catch {
    return true; // cannot tell: be as careful as in /tmp
  }
}

function ownedByCaller(path: string): boolean {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  return st.isFile() && st.uid === (process.geteuid?.() ?? -1);
}
