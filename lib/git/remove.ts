/**
 * Safe removal of one stale git lock (SPEC §4).
 *
 * Sequence, each step re-checking what the verdict was based on:
 * 1. lstat the lock (never follows symlinks): it must still be a regular
 *    file (a run lock: a real directory), with the same device and inode that
 *    were judged, and its real parent directory must be inside the git dir —
 *    so a symlinked directory can never lead the removal outside.
 * 2. rename it aside to `<name>.hardshell-rm-<pid>-<rand>` in the same
 *    directory. git creates locks with O_CREAT|O_EXCL (lockfile.h), so from
 *    this instant a git that wants the lock can take it; nothing we do next
 *    can hit that new lock.
 * 3. lstat the aside name: if it is not the judged inode (someone replaced
 *    the lock between 1 and 2), put it back with link(2) — which fails rather
 *    than overwrite a lock created since — and report "changed".
 * 4. unlink the aside name; then the holder record `<name>~pid.lock` the same way.
 *
 * What a concurrent git can observe: the lock disappears atomically (rename);
 * it never sees a half-removed lock and never loses a lock it just created.
 * A crash between 2 and 4 leaves a `*.hardshell-rm-*` file that no git reads.
 * Out of scope: network file systems where rename/link are not atomic.
 */
import { linkSync, lstatSync, readdirSync, realpathSync, renameSync, rmdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isInside } from "../core/proc";
import type { LockFile } from "./locks";

export type RemoveOutcome =
  | { removed: true; aside: string }
  | { removed: false; why: "gone" | "changed" | "not-regular" | "outside" | "error"; detail: string };

function asideName(path: string): string {
  return join(dirname(path), `${basename(path)}.hardshell-rm-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/** Remove `lock` if it still is the very file that was judged. `root` is the git dir it must be inside. */
export function removeLockSafely(lock: LockFile, root: string): RemoveOutcome {
  let st;
  try {
    st = lstatSync(lock.path);
  } catch {
    return { removed: false, why: "gone", detail: "already gone" };
  }
  const wantDir = lock.kind === "run";
  if (st.isSymbolicLink()) return { removed: false, why: "not-regular", detail: "a symlink: never followed or removed" };
  if (wantDir ? !st.isDirectory() : !st.isFile()) return { removed: false, why: "not-regular", detail: "not a regular file" };
  let parent: string;
  try {
    parent = realpathSync(dirname(lock.path));
  } catch {
    return { removed: false, why: "gone", detail: "its directory is gone" };
  }
  if (!isInside(parent, root)) return { removed: false, why: "outside", detail: `resolves outside the git dir ${root}` };
  if (st.ino !== lock.ino || st.dev !== lock.dev) return { removed: false, why: "changed", detail: "replaced since it was judged" };

  const realPath = join(parent, basename(lock.path));
  const aside = asideName(realPath);
  try {
    renameSync(realPath, aside);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return { removed: false, why: "gone", detail: "already gone" };
    return { removed: false, why: "error", detail: `cannot rename aside (${code ?? String(err)})` };
  }
  let ast;
  try {
    ast = lstatSync(aside);
  } catch {
    return { removed: false, why: "gone", detail: "vanished while being removed" };
  }
  if (ast.ino !== lock.ino || ast.dev !== lock.dev) {
    // Not ours: restore without overwriting anything created since.
    try {
      if (wantDir) renameSync(aside, realPath);
      else {
        linkSync(aside, realPath);
        unlinkSync(aside);
      }
    } catch {
      /* a new lock exists at the name already: the one we moved is a newer stale one; leave it aside */
    }
    return { removed: false, why: "changed", detail: "replaced while being removed; put back" };
  }
  try {
    if (wantDir) {
      for (const n of readdirSync(aside)) {
        const p = join(aside, n);
        if (lstatSync(p).isDirectory()) rmdirSync(p);
        else unlinkSync(p);
      }
      rmdirSync(aside);
    } else unlinkSync(aside);
  } catch (err) {
    return { removed: false, why: "error", detail: `renamed aside to ${aside} but cannot unlink (${(err as { code?: string }).code ?? String(err)})` };
  }
  if (lock.pidRecord) removeRecord(lock.pidRecord.path, root);
  return { removed: true, aside };
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
