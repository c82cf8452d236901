/**
 * Race-free removal of a lock DIRECTORY judged stale, shared by the hardshell
 * lock's takeover (./dirlock.ts) and sqlite-exec's clearing of a dead
 * node-sqlite3-wasm DB.lock (lib/sqlite/dotlock.ts). Each caller judges; this
 * module only makes "judge again, then remove" atomic among hardshell
 * processes. proper-lockfile's rmdir-then-mkdir lets two waiters that both
 * judged a lock stale both win (moxystudio/node-proper-lockfile#121); here:
 *   1. open the stale lock directory itself (O_NOFOLLOW|O_DIRECTORY) and take
 *      a kernel flock(2) (LOCK_EX|LOCK_NB) on it (./flock.ts); a kernel lock
 *      dies with its process, so it can never go stale itself. Not the parent
 *      directory: anyone who can read a directory can flock it, so a
 *      stranger's `flock /tmp` would block every takeover there forever. The
 *      hardshell lock directory is readable only by those who may rename it
 *      (./dirlock.ts lockDirMode), so no one else can block its takeover.
 *      Limit: a lock directory made readable to others by another tool
 *      (proper-lockfile uses 0777 & ~umask) can still be flocked, and its
 *      takeover held up, by anyone who can read it. A lock we may not open
 *      (EACCES) is not ours to take over: the caller keeps waiting.
 *   2. under it, require that the path still names the flocked inode (the
 *      open fd pins the inode number, so it cannot be reused meanwhile) and
 *      let the caller judge again (`stillStale`, which must check the inode it
 *      judged);
 *   3. rename it aside to `.<name>.hardshell-<pid>-<tag>.stale` (./tempname.ts),
 *      so a fresh lock created meanwhile is never the one removed; the
 *      caller's `removeAside` deletes it; asides of removers SIGKILLed in
 *      between are swept once their pid is dead; `then` runs while the flock
 *      is still held (a takeover makes its new lock there), then unlock.
 * Assumes rename(2) is atomic within one directory (POSIX). Errors are values
 * (./errors.ts): no flock(2) at all is an IoError naming the lock, to be
 * removed by hand.
 */
import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, renameSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { errnoOf, fromErrno, IoError } from "./errors";
import { loadFlock, LOCK_EX, LOCK_NB, LOCK_UN } from "./flock";
import { hardshellName, sweepDead } from "./tempname";

/**
 * Remove a lock directory judged stale, race-free among hardshell processes
 * (the steps in the module comment): under flock(2) on the lock directory itself, once the path is seen
 * to still name the flocked inode, `stillStale()` judges it again (it must
 * check the same inode that was judged), it is renamed aside to
 * a unique name so a fresh lock made meanwhile is never the one removed,
 * `removeAside` deletes it, debris of removers SIGKILLed mid-way is swept, and
 * `then()` runs while the flock is still held (a takeover makes its own lock
 * there). Returns undefined when another remover holds the flock, the lock is
 * gone, or it is no longer stale.
 */
export async function removeStaleUnderFlock<T>(
  lockPath: string,
  steps: { what: string; stillStale: () => boolean; removeAside: (aside: string) => void; then: () => T },
): Promise<T | undefined> {
  const flock = await loadFlock();
  if (!flock) {
    throw new IoError({ what: `cannot remove a stale ${steps.what}: flock(2) is not available`, subject: lockPath, hint: "remove it by hand if its owner is gone" });
  }
  const parent = dirname(lockPath);
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted in place of the lock is never followed (ELOOP).
    fd = openSync(lockPath, fsc.O_RDONLY | (fsc.O_DIRECTORY ?? 0) | (fsc.O_NOFOLLOW ?? 0));
  } catch (err) {
    const code = errnoOf(err);
    // Gone, or replaced by something that is not a directory: nothing of ours to take over now.
    if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return undefined;
    // Not readable by us: only those who may rename it may open it (lockDirMode), so it is
    // not ours to take over; keep waiting (its owner, or someone allowed, will).
    if (code === "EACCES" || code === "EPERM") return undefined;
    throw fromErrno(err, { what: `cannot open a stale ${steps.what}`, subject: lockPath });
  }
  try {
    if (flock(fd, LOCK_EX | LOCK_NB) !== 0) return undefined; // another remover is at work: retry later
    try {
      // The flock guards the inode we opened; act only if the path still names it.
      const mine = fstatSync(fd);
      let now;
      try {
        now = lstatSync(lockPath);
      } catch {
        return undefined;
      }
      if (now.ino !== mine.ino || now.dev !== mine.dev) return undefined;
      if (!steps.stillStale()) return undefined;
      const aside = join(parent, hardshellName(basename(lockPath), "stale"));
      try {
        renameSync(lockPath, aside);
      } catch (err) {
        if (errnoOf(err) === "ENOENT") return undefined;
        throw fromErrno(err, { what: `cannot move a stale ${steps.what} aside`, subject: lockPath });
      }
      steps.removeAside(aside);
      sweepDead(parent, basename(lockPath), "stale");
      return steps.then();
    } finally {
      flock(fd, LOCK_UN);
    }
  } finally {
    closeSync(fd);
  }
}
