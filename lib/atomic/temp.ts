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
 * - Its name is `.<FILE>.hardshell-<pid>-<random>.tmp`, kind `tmp` of the one
 *   naming scheme (lib/core/tempname.ts): hidden, tied to FILE (its first 180
 *   bytes, so a 255-byte FILE name still gets a temp name within NAME_MAX), and
 *   the writer's pid can be read back from it. The debris of a SIGKILLed writer
 *   is removed by that module's `sweepDead(dir, FILE, "tmp")`: only a `dead`
 *   pid's file goes, and in a world-writable sticky directory (/tmp) only the
 *   caller's own; see there for the NFS caveat.
 * - A directory that exists but whose file system refuses O_CREAT (/proc answers ENOENT) is
 *   UncreatableDirError (77), not "does not exist": FILE is there, it just cannot be replaced.
 */
import { constants as fsc, lstatSync, openSync } from "node:fs";
import { join } from "node:path";
import { displayPath, errnoOf, fromErrno } from "../core/errors";
import { hardshellName } from "../core/tempname";
import { UncreatableDirError } from "./errors";

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
    const name = hardshellName(base, "tmp");
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

/** `dir` is a directory itself (not a symlink to one). */
export function isDirectory(dir: string): boolean {
  try {
    return lstatSync(dir).isDirectory();
  } catch {
    return false;
  }
}
