/**
 * Failure kinds particular to atomic-write, as error values (lib/core/errors.ts
 * explains the shape). Each keeps its reason fields so callers and tests can
 * branch on them instead of parsing the message.
 */
import { PermissionError } from "../core/errors";

/** How a world-writable sticky directory is recognised: sticky bit and write permission for others. */
export function isSharedStickyDir(st: { mode: number; isDirectory(): boolean }): boolean {
  return st.isDirectory() && (st.mode & 0o1000) !== 0 && (st.mode & 0o002) !== 0;
}

export interface ProtectedPathDetails {
  /** What we refused to do with `path`: follow it (a symlink) or replace it (a file). */
  action: "follow" | "replace";
  /** The symlink or file, absolute. */
  path: string;
  /** The same as messages name it (as typed where it is part of FILE as typed); default: `path`. */
  shown?: string;
  /** Its owner. */
  ownerUid: number;
  /** The world-writable sticky directory holding it, and that directory's owner. */
  dir: string;
  dirOwnerUid: number;
  /** The caller's effective uid. */
  callerUid: number;
}

/**
 * Exit 77: in a world-writable sticky directory (/tmp), `path` belongs to someone who is neither the
 * caller nor the directory's owner. Following such a symlink, or writing into (replacing) such a file,
 * is what the kernel's fs.protected_symlinks / fs.protected_regular refuse (proc_sys_fs(5)); we
 * resolve links ourselves, so we apply the same rule ourselves.
 */
export class ProtectedPathError extends PermissionError {
  readonly action: "follow" | "replace";
  readonly path: string;
  readonly ownerUid: number;
  readonly dir: string;
  readonly dirOwnerUid: number;
  readonly callerUid: number;
  constructor(d: ProtectedPathDetails) {
    const thing = d.action === "follow" ? "follow a symlink" : "replace a file";
    super({
      what: `refusing to ${thing} owned by uid ${d.ownerUid} in the world-writable sticky directory ${d.dir}`,
      subject: d.shown ?? d.path,
      hint: "another user may have planted it there; nothing written",
    });
    this.action = d.action;
    this.path = d.path;
    this.ownerUid = d.ownerUid;
    this.dir = d.dir;
    this.dirOwnerUid = d.dirOwnerUid;
    this.callerUid = d.callerUid;
  }
}

/**
 * Exit 77: FILE's directory exists but its file system refuses to create a file there (open(2) with
 * O_CREAT fails ENOENT on /proc, for example), so no replacement can ever be put next to FILE.
 */
export class UncreatableDirError extends PermissionError {
  readonly dir: string;
  readonly target: string;
  readonly errno: string;
  /** `shownDir` / `shownTarget`: `dir` and `target` as messages name them (as typed); default: as they are. */
  constructor(d: { dir: string; target: string; errno: string; cause?: unknown; shownDir?: string; shownTarget?: string }) {
    super({
      what: `cannot replace: the file system of its directory ${d.shownDir ?? d.dir} does not allow creating files`,
      subject: d.shownTarget ?? d.target,
      hint: `${d.errno}: a pseudo file system such as /proc or /sys cannot hold a replacement; write such files in place; nothing written`,
      cause: d.cause,
    });
    this.dir = d.dir;
    this.target = d.target;
    this.errno = d.errno;
  }
}
