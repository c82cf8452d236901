/**
 * Safe removal of one stale git lock (design.md §4).
 *
 * Sequence, each step re-checking what the verdict was based on:
 * 1. lstat the lock (never follows symlinks): it must still be a regular
 *    file with the same device, inode and ctime that were judged (inode
 *    numbers are recycled within milliseconds as git locks and commits), and its real
 *    parent directory must be inside the git dir — so a symlinked directory
 *    can never lead the removal outside.
 * 2. rename it aside to `.<name>.hardshell-<pid>-<tag>.rm` in the same
 *    directory (lib/core/tempname.ts). git creates locks with O_CREAT|O_EXCL (lockfile.h), so from
 *    this instant a git that wants the lock can take it; nothing we do next
 *    can hit that new lock.
 * 3. lstat the aside name: if it is not the judged inode and mtime (someone replaced
 *    the lock between 1 and 2), put it back with link(2) — which fails rather
 *    than overwrite a lock created since — and report "changed".
 * 4. unlink the aside name; then the holder record `<name>~pid.lock` the same way.
 *
 * What a concurrent git can observe: the lock disappears atomically (rename);
 * it never sees a half-removed lock and never loses a lock it just created.
 * A crash between 2 and 4 leaves a `.<name>.hardshell-*.rm` file that no git
 * reads; the next removal of a lock of that name sweeps it once its pid is dead.
 * hardshell's run locks (directories) are not removed here but by
 * `removeRunLock`: it takes the stale lock over through lib/core/dirlock.ts
 * (re-judged under the same flock every other taker-over uses, so a
 * concurrent `git-lock run` and `clean` can never both act on it) and
 * releases it at once.
 * Out of scope: network file systems where rename/link are not atomic.
 */
import { linkSync, lstatSync, realpathSync, renameSync, unlinkSync } from "node:fs";
import { holdLock } from "../core/dirlock";
import { errnoOf, TempFailError } from "../core/errors";
import { hardshellName, sweepDead } from "../core/tempname";
import { basename, dirname, join } from "node:path";
import { isInside } from "../core/procscan";
import type { LockFile } from "./lockfiles";

export type RemoveOutcome =
  | { removed: true; aside: string }
  | { removed: false; why: "gone" | "changed" | "not-regular" | "outside" | "error"; detail: string };

function asideName(path: string): string {
  return join(dirname(path), hardshellName(basename(path), "rm"));
}

/** Remove `lock` if it still is the very file that was judged. `root` is the git dir it must be inside. */
export function removeLockSafely(lock: LockFile, root: string): RemoveOutcome {
  let st;
  try {
    st = lstatSync(lock.path);
  } catch {
    return { removed: false, why: "gone", detail: "already gone" };
  }
  if (st.isSymbolicLink()) return { removed: false, why: "not-regular", detail: "a symlink: never followed or removed" };
  if (!st.isFile()) return { removed: false, why: "not-regular", detail: "not a regular file" };
  let parent: string;
  try {
    parent = realpathSync(dirname(lock.path));
  } catch {
    return { removed: false, why: "gone", detail: "its directory is gone" };
  }
  if (!isInside(parent, root)) return { removed: false, why: "outside", detail: `resolves outside the git dir ${root}` };
  if (!sameFile(st, lock, "ctimeMs")) return { removed: false, why: "changed", detail: "replaced since it was judged" };

  const realPath = join(parent, basename(lock.path));
  const aside = asideName(realPath);
  try {
    renameSync(realPath, aside);
  } catch (err) {
    const code = errnoOf(err);
    if (code === "ENOENT") return { removed: false, why: "gone", detail: "already gone" };
    return { removed: false, why: "error", detail: `cannot rename aside (${code ?? String(err)})` };
  }
  let ast;
  try {
    ast = lstatSync(aside);
  } catch {
    return { removed: false, why: "gone", detail: "vanished while being removed" };
  }
  // The rename just moved its ctime: the mtime (which rename keeps) stands in for it here.
  if (!sameFile(ast, lock, "mtimeMs")) {
    // Not ours: restore without overwriting anything created since.
    try {
      linkSync(aside, realPath);
      unlinkSync(aside);
    } catch {
      /* a new lock exists at the name already: the one we moved is a newer stale one; leave it aside */
    }
    return { removed: false, why: "changed", detail: "replaced while being removed; put back" };
  }
  try {
    unlinkSync(aside);
  } catch (err) {
    return { removed: false, why: "error", detail: `renamed aside to ${aside} but cannot unlink (${errnoOf(err) ?? String(err)})` };
  }
  sweepDead(parent, basename(lock.path), "rm");
  if (lock.pidRecord) removeRecord(lock.pidRecord.path, root);
  return { removed: true, aside };
}

/**
 * Is `st` the very file that was judged? Device and inode alone are not enough:
 * a filesystem hands a freed inode number to the next file it creates, and git
 * frees and creates index.lock inodes many times a second (lock, rename over
 * index, lock again), so two commits after the judgement a live git's new lock
 * can sit at the same path with the same inode number. Its ctime (set when it was
 * created) cannot match the judged one's.
 */
function sameFile(st: { dev: number; ino: number; ctimeMs: number; mtimeMs: number }, lock: LockFile, time: "ctimeMs" | "mtimeMs"): boolean {
  return st.dev === lock.dev && st.ino === lock.ino && st[time] === lock[time];
}

/** Remove a holder record (`<name>~pid.lock`) after its lock: regular file inside the git dir only. */
function removeRecord(path: string, root: string): void {
  try {
    const st = lstatSync(path);
    if (!st.isFile()) return;
    if (!isInside(realpathSync(dirname(path)), root)) return;
    const aside = asideName(path);
    renameSync(path, aside);
    unlinkSync(aside);
  } catch {
    /* gone already, or a new holder's: nothing to do */
  }
}

/**
 * Remove a stale hardshell run lock: take it over with the shared lock
 * module (one attempt; it re-judges under its flock and needs the same
 * inode) and release it at once. A lock that is no longer stale — its owner
 * came back, or another run took it over first — is left ("changed").
 */
export async function removeRunLock(lock: LockFile, root: string, staleMs: number): Promise<RemoveOutcome> {
  let st;
  try {
    st = lstatSync(lock.path);
  } catch {
    return { removed: false, why: "gone", detail: "already gone" };
  }
  if (st.isSymbolicLink() || !st.isDirectory()) return { removed: false, why: "not-regular", detail: "not a lock directory" };
  if (!isInside(realpathSync(dirname(lock.path)), root)) return { removed: false, why: "outside", detail: `resolves outside the git dir ${root}` };
  if (st.ino !== lock.ino || st.dev !== lock.dev) return { removed: false, why: "changed", detail: "replaced since it was judged" };
  try {
    const held = await holdLock(lock.path, { timeoutMs: 0, staleMs, command: "git-lock clean" });
    held.release();
    return { removed: true, aside: lock.path };
  } catch (err) {
    if (err instanceof TempFailError) return { removed: false, why: "changed", detail: "no longer stale: taken or refreshed meanwhile" };
    return { removed: false, why: "error", detail: (err as Error).message };
  }
}
