/**
 * What `atomic-write FILE` will actually replace, decided before anything is
 * opened or written.
 *
 * Contract:
 * - FILE is examined with lstat(2)/readlink(2) only; nothing is ever open(2)ed
 *   here, so a FIFO cannot block us (opening a FIFO for writing waits for a
 *   reader) and a device is never touched.
 * - A symlink is followed to its final target (relative links resolve against
 *   the link's own directory, up to 40 hops like the kernel's ELOOP limit); the
 *   target is what gets replaced, so the link stays a link (rename(2) over a
 *   link would replace the link itself).
 * - The final target must be a regular file or missing. Directory, FIFO,
 *   socket, character or block device: CantCreateError (exit 73).
 * - A missing parent directory is CantCreateError (73) unless `mkdir` is set;
 *   then it is created (mode 0777 & ~umask, like mkdir -p) and each new
 *   directory entry is fsynced into its parent, so the file created in it
 *   later cannot outlive a crash in a directory that did not.
 * - Everything here is a snapshot: the caller re-checks what it must right
 *   before the commit (replace.ts does, and opens old content with
 *   O_NONBLOCK + fstat so a FIFO swapped in meanwhile still cannot hang it).
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { CantCreateError, errnoOf, fromErrno } from "../core/errors";

export interface Target {
  /** The path as the user gave it, absolute. */
  path: string;
  /** Final target after following symlinks: the file that is replaced. */
  target: string;
  /** Directory holding the target (where the temp file goes). */
  dir: string;
  /** lstat of the target when it exists (always a regular file then). */
  stat?: Stats;
  /** FILE itself is a symlink. */
  viaSymlink: boolean;
  /** Directories created for --mkdir, outermost first. */
  created: string[];
}

const MAX_HOPS = 40;

/** Human name of a non-regular file type. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

export function resolveTarget(file: string, opts: { mkdir?: boolean } = {}): Target {
  const path = resolve(file);
  let cur = path;
  let viaSymlink = false;
  for (let hops = 0; ; hops++) {
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOENT") break; // missing final target: created by the commit
      if (code === "ENOTDIR") {
        throw new CantCreateError({ what: "a parent of the file is not a directory", subject: cur });
      }
      throw fromErrno(err, { what: "cannot examine", subject: cur });
    }
    if (st.isSymbolicLink()) {
      if (hops >= MAX_HOPS) throw new CantCreateError({ what: "too many levels of symbolic links", subject: path });
      viaSymlink = true;
      cur = resolve(dirname(cur), readlinkSync(cur));
      continue;
    }
    if (!st.isFile()) {
      throw new CantCreateError({
        what: `refusing to replace ${fileKind(st)}`,
        subject: cur,
        hint: "atomic-write only replaces regular files",
      });
    }
    return { path, target: cur, dir: dirname(cur), stat: st, viaSymlink, created: [] };
  }
  const dir = dirname(cur);
  const created = ensureDir(dir, opts.mkdir === true, path);
  return { path, target: cur, dir, viaSymlink, created };
}

function ensureDir(dir: string, mkdir: boolean, subject: string): string[] {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new CantCreateError({ what: "parent is not a directory", subject: dir });
    return [];
  } catch (err) {
    if (err instanceof CantCreateError) throw err;
    const code = errnoOf(err);
    if (code === "ENOTDIR") throw new CantCreateError({ what: "a parent of the file is not a directory", subject: dir });
    if (code !== "ENOENT") throw fromErrno(err, { what: "cannot examine directory", subject: dir });
  }
  if (!mkdir) {
    throw new CantCreateError({ what: "directory does not exist", subject: dir, hint: `use --mkdir to create it for ${subject}` });
  }
  let first: string | undefined;
  try {
    first = mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = errnoOf(err);
    if (code === "ENOTDIR" || code === "EEXIST") throw new CantCreateError({ what: "cannot create directory", subject: dir, hint: code });
    throw fromErrno(err, { what: "cannot create directory", subject: dir });
  }
  const created: string[] = [];
  if (first) {
    for (let d = dir; ; d = dirname(d)) {
      created.unshift(d);
      if (d === first || d === dirname(d)) break;
    }
    // Make each new entry durable in its parent (outermost parent first).
    for (const d of created) fsyncDir(dirname(d));
  }
  return created;
}

/** fsync(2) a directory so entries created or renamed in it survive a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
