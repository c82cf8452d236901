/**
 * What `atomic-write FILE` will actually replace, decided before anything is
 * opened or written.
 *
 * Contract:
 * - FILE is examined with lstat(2)/readlink(2) only; nothing is ever open(2)ed
 *   here, so a FIFO cannot block us (opening a FIFO for writing waits for a
 *   reader) and a device is never touched.
 * - The path is walked one component at a time, the way the kernel's path walk
 *   does (path_resolution(7)); every symlink met, in a directory or at the end,
 *   is followed by us (relative links resolve against the link's own directory,
 *   `..` against the directory actually reached; at most 40 links, like the
 *   kernel's ELOOP limit). The final target is what gets replaced, so a link
 *   at FILE stays a link (rename(2) over a link would replace the link itself).
 * - Shared sticky directories (/tmp, mode 1777): because we follow links
 *   ourselves, the kernel's fs.protected_symlinks and fs.protected_regular
 *   (proc_sys_fs(5)) never see them, so their rules are applied here to every
 *   component: in a world-writable sticky directory, a symlink is followed
 *   only if its owner is the caller (euid) or the directory's owner, and an
 *   existing file is replaced only under the same condition. Anything else is
 *   ProtectedPathError (77) before a byte is written. `mayReplace` repeats the
 *   file check for callers that look again right before the commit.
 * - The final target must be a regular file or missing. Directory, FIFO,
 *   socket, character or block device: CantCreateError (exit 73).
 * - A missing directory on the way is CantCreateError (73) unless `mkdir` is
 *   set; then each missing component is created by itself with mkdir(2)
 *   (mode 0777 & ~umask, like mkdir -p) inside the directory the walk really
 *   reached, so a planted symlink is never mkdir'ed through, and each new
 *   entry is fsynced into its parent so the file created in it later cannot
 *   outlive a crash in a directory that did not. mkdir(2) never follows a
 *   symlink at its last component; losing a race to another creator (EEXIST)
 *   just examines what is there now, with the same rules.
 * - Everything here is a snapshot: the caller re-checks what it must right
 *   before the commit (replace.ts does, and opens old content with
 *   O_NONBLOCK + fstat so a FIFO swapped in meanwhile still cannot hang it).
 *   Out of scope: another user who owns a directory on the way (not sticky)
 *   swapping it for a symlink between this walk and the commit; the kernel's
 *   own fs.protected_symlinks covers that when enabled.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CantCreateError, displayPath, errnoHint, errnoOf, fromErrno } from "../core/errors";
import { isSharedStickyDir, ProtectedPathError } from "./errors";

export interface Target {
  /** FILE exactly as the user typed it: the subject of messages about FILE. */
  typed: string;
  /** The path as the user gave it, made absolute (lexically, against the cwd). */
  path: string;
  /** Final target after following symlinks: the file that is replaced. */
  target: string;
  /** Directory holding the target (where the temp file goes). */
  dir: string;
  /** lstat of the target when it exists (always a regular file then). */
  stat?: Stats;
  /** A symlink was followed on the way (at FILE or in a directory above it). */
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

function callerUid(): number {
  return process.geteuid?.() ?? -1;
}

/** protected_symlinks: may the caller follow `link` (lstat `st`) found in `dir` (lstat `dirSt`)? */
function checkFollow(dir: string, dirSt: Stats, link: string, st: Stats, shown: string): void {
  const me = callerUid();
  if (!isSharedStickyDir(dirSt) || st.uid === me || st.uid === dirSt.uid) return;
  throw new ProtectedPathError({ action: "follow", path: link, shown, ownerUid: st.uid, dir, dirOwnerUid: dirSt.uid, callerUid: me });
}

/** protected_regular: may the caller replace the existing `file` (lstat `st`) in `dir` (lstat `dirSt`)? */
function checkReplace(dir: string, dirSt: Stats, file: string, st: Stats, shown: string): void {
  const me = callerUid();
  if (!isSharedStickyDir(dirSt) || st.uid === me || st.uid === dirSt.uid) return;
  throw new ProtectedPathError({ action: "replace", path: file, shown, ownerUid: st.uid, dir, dirOwnerUid: dirSt.uid, callerUid: me });
}

/** The replace rule again, for a file examined later (right before the commit, or a backup name); `shown` names it in messages. */
export function mayReplace(file: string, st: Stats, shown: string = displayPath(file)): void {
  const dir = dirname(file);
  let dirSt: Stats;
  try {
    dirSt = lstatSync(dir);
  } catch (err) {
    throw fromErrno(err, { what: "cannot examine directory", subject: dir });
  }
  checkReplace(dir, dirSt, file, st, shown);
}

function lstatDir(dir: string, show: (abs: string) => string = displayPath): Stats {
  try {
    return lstatSync(dir);
  } catch (err) {
    throw fromErrno(err, { what: "cannot examine directory", subject: show(dir), subjectAsTyped: true });
  }
}

/**
 * How messages name paths met on the walk of `typed`: each prefix of the typed path by its typed
 * spelling (`../x`, `/srv/app`), as long as no symlink was followed (until then the walk's
 * directories are exactly the lexical prefixes); anything else relative to the cwd (displayPath).
 */
function namer(typed: string): { show: (abs: string) => string; followed: () => void } {
  const spelled = new Map<string, string>();
  const parts = typed.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    if (prefix === "") continue;
    const abs = resolve(prefix);
    if (!spelled.has(abs)) spelled.set(abs, prefix); // the shortest spelling of a directory
  }
  let viaLink = false;
  return {
    show: (abs) => (viaLink ? undefined : spelled.get(abs)) ?? displayPath(abs),
    followed: () => {
      viaLink = true;
    },
  };
}

/** `name` in the target's directory as messages show it: the typed directory + name, or relative to the cwd after a symlink. */
export function shownInDir(t: Pick<Target, "typed" | "dir" | "viaSymlink">, name: string): string {
  if (t.viaSymlink) return displayPath(join(t.dir, name));
  return t.typed.slice(0, t.typed.lastIndexOf("/") + 1) + name;
}

/** The target's directory as messages show it. */
export function shownDir(t: Pick<Target, "typed" | "dir" | "viaSymlink">): string {
  if (t.viaSymlink) return displayPath(t.dir);
  const i = t.typed.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : t.typed.slice(0, i);
}

/** The replaced file as messages show it: as typed, or (reached through a symlink) relative to the cwd. */
export function shownTarget(t: Pick<Target, "typed" | "target" | "viaSymlink">): string {
  return t.viaSymlink ? displayPath(t.target) : t.typed;
}

export function resolveTarget(file: string, opts: { mkdir?: boolean } = {}): Target {
  const typed = file;
  const path = resolve(file);
  const { show, followed } = namer(typed);
  const pending = path.split("/").filter((c) => c !== "");
  let dir = "/";
  let dirSt = lstatDir(dir, show);
  let hops = 0;
  let lostRaces = 0;
  let viaSymlink = false;
  const created: string[] = [];
  if (pending.length === 0) throw new CantCreateError({ what: "refusing to replace a directory", subject: typed, hint: "atomic-write only replaces regular files" });
  while (pending.length > 0) {
    const name = pending.shift()!;
    const last = pending.length === 0;
    if (name === "." || name === "..") {
      if (name === "..") {
        dir = dirname(dir); // `dir` holds no symlink, so this is the physical parent, as the kernel's `..`
        dirSt = lstatDir(dir, show);
      }
      if (last) throw new CantCreateError({ what: "refusing to replace a directory", subject: show(dir), hint: "atomic-write only replaces regular files" });
      continue;
    }
    const cur = join(dir, name);
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOTDIR") throw new CantCreateError({ what: "a parent of the file is not a directory", subject: show(dir) });
      if (code !== "ENOENT") throw fromErrno(err, { what: "cannot examine", subject: show(cur), subjectAsTyped: true });
      if (last) return { typed, path, target: cur, dir, viaSymlink, created }; // missing final target: created by the commit
      if (opts.mkdir !== true) {
        throw new CantCreateError({ what: "directory does not exist", subject: show(join(cur, ...pending.slice(0, -1))), hint: `use --mkdir to create it for ${typed}` });
      }
      if (makeDir(cur, show(cur))) {
        created.push(cur);
        fsyncDir(dir); // the new entry must be durable in its parent before anything is created inside it
      } else if (++lostRaces > MAX_HOPS) {
        throw new CantCreateError({ what: "cannot create directory: it keeps appearing and disappearing", subject: show(cur) });
      }
      pending.unshift(name); // examine what is there now: ours, or what a concurrent creator made
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_HOPS) throw new CantCreateError({ what: "too many levels of symbolic links", subject: typed });
      checkFollow(dir, dirSt, cur, st, show(cur));
      viaSymlink = true;
      followed();
      let to: string;
      try {
        to = readlinkSync(cur);
      } catch (err) {
        throw fromErrno(err, { what: "cannot read symbolic link", subject: show(cur), subjectAsTyped: true });
      }
      if (to.startsWith("/")) {
        dir = "/";
        dirSt = lstatDir(dir, show);
      }
      pending.unshift(...to.split("/").filter((c) => c !== ""));
      if (pending.length === 0) throw new CantCreateError({ what: "refusing to replace a directory", subject: show(cur), hint: "atomic-write only replaces regular files" });
      continue;
    }
    if (st.isDirectory() && !last) {
      dir = cur;
      dirSt = st;
      continue;
    }
    if (!last) throw new CantCreateError({ what: "a parent of the file is not a directory", subject: show(cur) });
    if (!st.isFile()) {
      throw new CantCreateError({ what: `refusing to replace ${fileKind(st)}`, subject: show(cur), hint: "atomic-write only replaces regular files" });
    }
    checkReplace(dir, dirSt, cur, st, show(cur));
    return { typed, path, target: cur, dir, stat: st, viaSymlink, created };
  }
  /* c8 ignore next */
  throw new CantCreateError({ what: "refusing to replace a directory", subject: show(dir) });
}

/** mkdir(2) one directory; false when it already exists (a concurrent creator). */
function makeDir(dir: string, shown: string): boolean {
  try {
    mkdirSync(dir, 0o777);
    return true;
  } catch (err) {
    const code = errnoOf(err);
    if (code === "EEXIST") return false;
    if (code === "ENOTDIR") throw new CantCreateError({ what: "cannot create directory", subject: shown, hint: errnoHint(code) });
    throw fromErrno(err, { what: "cannot create directory", subject: shown, subjectAsTyped: true });
  }
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
