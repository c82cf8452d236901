/**
 * replaceAtomically: the whole of `atomic-write` (design.md §3) as one library call.
 *
 * What a concurrent reader can observe: FILE whole-old or whole-new, never a
 * partial or missing file (when it existed before). The new content is written
 * to a temp file in FILE's own directory and renamed over FILE; rename(2) is
 * atomic: "If newpath already exists, it will be atomically replaced, so that
 * there is no point at which another process attempting to access newpath will
 * find it missing" (rename(2), POSIX rename()).
 *
 * What a crash can observe: after we return (exit 0) and unless fsync is off,
 * the data was fsync(2)ed BEFORE the rename and the directory fsync(2)ed AFTER
 * it. Without the first, a crash can leave the renamed name pointing at a
 * zero-length or partial file (the ext4 delayed-allocation data loss, LWN
 * "ext4 and data loss", 2009; fsync(2)); without the second the rename itself
 * may not survive ("calling fsync() does not necessarily ensure that the entry
 * in the directory containing the file has also reached disk", fsync(2)).
 * With `fsync: false` both are skipped: still atomic for readers, not durable.
 *
 * `-- CMD` / `--edit`: CMD's stdout is a pipe that we copy into the temp
 * file (never the temp file itself), so a failed write is ours to see (disk
 * full: IoError, exit 74, even when CMD ignores its own write errors), and no
 * process keeps a descriptor of what becomes FILE. The commit happens at EOF
 * of that pipe and CMD's exit 0: a background descendant that still holds
 * CMD's stdout delays the commit (its output is part of the content, as with
 * `$(CMD)`), and nothing can change FILE after we return.
 *
 * In a world-writable sticky directory (/tmp) a symlink or file owned by
 * neither the caller nor the directory's owner is never followed or replaced
 * (target.ts; re-checked right before the commit and for the backup name), and
 * the new file is only ever chowned to the owner of the file it replaces.
 *
 * On any failure before the commit (input error, CMD non-zero, disk full, a
 * signal, a precondition) FILE is untouched and the temp file is removed; a
 * SIGKILL leaves a temp file named after our pid, which the next run removes
 * (temp.ts). The commit decision in stream mode comes only after pending
 * signal handlers had an event-loop turn (lib/core/signals.ts
 * checkpointSignals): the producer of a pipe that died of the same group-wide
 * signal looks exactly like a finished one (EOF), design.md §3.
 *
 * Calling sequence: resolve target (target.ts; refuses non-regular files
 * without opening them) -> lock if asked (lib/core/dirlock.ts; implied by edit,
 * append, ifUnchanged) -> sweep dead temps -> preconditions -> fill temp ->
 * fsync -> checkpoint signals -> mode/owner -> backup -> rename (or link(2)
 * for ifAbsent, which fails EEXIST instead of replacing) -> fsync dir -> unlock.
 *
 * Assumptions: POSIX rename(2)/link(2) semantics on one local file system.
 * NFS: rename is atomic on the server, but close-to-open caching means
 * readers on other clients may see the old file for a while, and pid-based
 * temp/lock sweeping only sees this host. Out of scope: preserving ACLs,
 * xattrs and SELinux labels of the old file; hard links to the old file keep
 * the old content (a rename makes a new inode, by design).
 * Never prints, never exits: errors are values (lib/core/errors.ts).
 */
import {
  closeSync,
  constants as fsc,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { constants as osc } from "node:os";
import { basename, join } from "node:path";
import { AnswerNo, CantCreateError, errnoOf, fromErrno, HardshellError, IoError, NoInputError, UnavailableError } from "../core/errors";
import { holdLock, lockPathFor, type HeldLock } from "../core/dirlock";
import { checkpointSignals, onSignal, registerCleanup } from "../core/signals";
import { UncreatableDirError } from "./errors";
import { openPipe } from "./pipe";
import { fileKind, fsyncDir, mayReplace, resolveTarget } from "./target";
import { createTemp, sweepDeadTemps, tempName, type TempFile } from "./temp";

/** Where the new content comes from. */
export type Content =
  /** stdin mode: the stream's bytes, as they are. */
  | { kind: "stream"; stream: AsyncIterable<Uint8Array> }
  /** `-- CMD`: CMD's stdout, committed only if CMD exits 0. */
  | { kind: "command"; argv: string[] }
  /** `--edit FILE -- CMD`: old content on CMD's stdin, CMD's stdout is the new content. */
  | { kind: "edit"; argv: string[] }
  /** `--append`: old content followed by the stream. */
  | { kind: "append"; stream: AsyncIterable<Uint8Array> };

export interface ReplaceOptions {
  /** Mode of the result (overrides the kept/default mode). */
  mode?: number;
  mkdir?: boolean;
  /** fsync data before and directory after the rename. Default true. */
  fsync?: boolean;
  /** Keep the old version as FILE+suffix (e.g. "~"). */
  backupSuffix?: string;
  /** Replace only if the current content hashes to this sha256 (hex). */
  ifUnchanged?: string;
  /** Create only if FILE does not exist. */
  ifAbsent?: boolean;
  /** Hold FILE.lock while writing (implied by edit, append, ifUnchanged). */
  lock?: boolean;
  lockTimeoutMs?: number;
  lockStaleMs?: number;
  /** Refuse empty new content (AnswerNo). */
  noEmpty?: boolean;
  /** Compute the sha256 of the new content. */
  hash?: boolean;
  /** Recorded in the lock owner file. */
  command?: string;
}

export interface ReplaceResult {
  committed: boolean;
  /** Exit code of CMD (command/edit modes); the commit happened only if 0. */
  childExitCode?: number;
  /** The file actually replaced (symlinks followed). */
  target: string;
  bytes: number;
  sha256?: string;
  backup?: string;
  /** Debris of dead writers removed on the way. */
  removedTemps: string[];
}

const CHUNK = 1 << 20;
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

function writeAll(fd: number, buf: Uint8Array, subject: string): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      throw fromErrno(err, { what: "cannot write temp file", subject, hint: errnoOf(err) === "ENOSPC" ? "file system full; FILE left unchanged" : undefined });
    }
  }
}

/** Open an existing regular file for reading without ever blocking on a FIFO swapped in meanwhile. */
function openRegularForRead(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK | (fsc.O_NOFOLLOW ?? 0));
  } catch (err) {
    throw fromErrno(err, { what: "cannot read current content", subject: path });
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new CantCreateError({ what: `refusing to replace ${fileKind(st)}`, subject: path });
  }
  return fd;
}

/** Copy a readable fd into another, feeding the hasher; returns bytes copied. */
function copyFd(from: number, to: number, hasher: Bun.CryptoHasher | undefined, subject: string): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(from, buf, 0, CHUNK, null);
    } catch (err) {
      throw fromErrno(err, { what: "cannot read", subject });
    }
    if (n === 0) return total;
    const chunk = buf.subarray(0, n);
    hasher?.update(chunk);
    if (to >= 0) writeAll(to, chunk, subject);
    total += n;
  }
}

/** sha256 (hex) of a regular file's content, read in chunks. */
export function sha256File(path: string): string {
  const fd = openRegularForRead(path);
  try {
    const h = new Bun.CryptoHasher("sha256");
    copyFd(fd, -1, h, path);
    return h.digest("hex");
  } finally {
    closeSync(fd);
  }
}

/** sha256 (hex) of bytes, for callers and tests. */
export function sha256Hex(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

function signalExit(signalCode: string | null | undefined): number | undefined {
  if (!signalCode) return undefined;
  const n = (osc.signals as Record<string, number>)[signalCode];
  return n === undefined ? undefined : 128 + n;
}

/**
 * Run CMD with its stdout on a pipe and hand every chunk to `sink` (which writes the temp file).
 * Resolves with CMD's exit code (128+N when killed by signal N):
 * - non-zero: at once, without waiting for EOF; the read end is closed, so a descendant still
 *   writing gets EPIPE/SIGPIPE and nothing it writes can reach FILE;
 * - 0: only after EOF, i.e. once CMD and every descendant that inherited its stdout closed it
 *   (as `$(CMD)` does): the commit happens at EOF, so no late write can change FILE after exit.
 * A `sink` failure (disk full) or a read error rejects, after closing the read end (CMD then gets
 * SIGPIPE at its next write, like the producer of `CMD | head`) and after CMD has exited.
 */
async function runChild(
  argv: string[],
  stdin: number | "inherit",
  sink: (chunk: Uint8Array) => void,
  onSpawn?: (pid: number) => void,
): Promise<number> {
  const pipe = await openPipe();
  let readClosed = false;
  const closeRead = () => {
    if (pipe && !readClosed) {
      readClosed = true;
      try {
        closeSync(pipe.read);
      } catch {
        /* closed already */
      }
    }
  };
  let child: Bun.Subprocess<number | "inherit", number | "pipe", "inherit">;
  try {
    child = Bun.spawn(argv, { stdin, stdout: pipe ? pipe.write : "pipe", stderr: "inherit" });
  } catch (err) {
    closeRead();
    const code = errnoOf(err);
    if (code === "ENOENT") throw new UnavailableError({ what: "command not found", subject: argv[0], hint: "FILE left unchanged" });
    if (code === "EACCES") throw new UnavailableError({ what: "command not executable", subject: argv[0], hint: "FILE left unchanged" });
    throw fromErrno(err, { what: "cannot run command", subject: argv[0] });
  } finally {
    // Only CMD (and what it starts) may hold the write end, or EOF would never come.
    if (pipe) closeSync(pipe.write);
  }
  onSpawn?.(child.pid); // the lock records CMD: it stays live while CMD runs, even if we are SIGKILLed
  // Forward the polite signals to the child; our own handler then cleans up and exits 128+N.
  const off = onSignal((sig) => {
    try {
      child.kill(sig);
    } catch {
      /* already gone */
    }
  });
  const stream = (pipe ? Bun.file(pipe.read).stream() : child.stdout) as ReadableStream<Uint8Array>;
  const reader = stream.getReader();
  let failure: unknown;
  let eof = false;
  const pumping = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          eof = true;
          return;
        }
        sink(value);
      }
    } catch (err) {
      failure = err instanceof HardshellError ? err : fromErrno(err, { what: "cannot read the command's output", subject: argv[0], hint: "FILE left unchanged" });
      await reader.cancel().catch(() => {});
      closeRead(); // CMD gets SIGPIPE at its next write instead of blocking on a full pipe
    }
  })();
  try {
    const exit = await child.exited;
    const code = signalExit(child.signalCode === null ? null : String(child.signalCode)) ?? exit;
    if (failure) throw failure;
    if (code !== 0) return code;
    await pumping; // the commit happens at EOF: wait for every writer of the pipe
    if (failure) throw failure;
    return 0;
  } finally {
    off();
    if (!eof) await reader.cancel().catch(() => {});
    closeRead();
  }
}

export async function replaceAtomically(file: string, content: Content, opts: ReplaceOptions = {}): Promise<ReplaceResult> {
  const fsync = opts.fsync !== false;
  const t = resolveTarget(file, { mkdir: opts.mkdir });
  const base = basename(t.target);
  const result: ReplaceResult = { committed: false, target: t.target, bytes: 0, removedTemps: [] };

  if (opts.ifAbsent && t.stat) throw new AnswerNo({ what: "file already exists", subject: t.path, hint: "--if-absent: left unchanged" });

  let lock: HeldLock | undefined;
  const wantLock = opts.lock || opts.ifUnchanged !== undefined || content.kind === "edit" || content.kind === "append";
  let temp: TempFile | undefined;
  let unregisterTemp: (() => void) | undefined;
  const dropTemp = () => {
    if (!temp) return;
    const { fd, path } = temp;
    temp = undefined;
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
    try {
      unlinkSync(path);
    } catch {
      /* gone already */
    }
  };
  try {
    if (wantLock) {
      try {
        lock = await holdLock(lockPathFor(t.target), {
          timeoutMs: opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
          staleMs: opts.lockStaleMs,
          command: opts.command ?? "atomic-write",
        });
      } catch (err) {
        // FILE.lock cannot be made beside an existing FILE: the directory's file system refuses new entries (/proc).
        if (err instanceof NoInputError && isDirectory(t.dir)) throw new UncreatableDirError({ dir: t.dir, target: t.target, errno: "ENOENT", cause: err });
        throw err;
      }
    }
    result.removedTemps = sweepDeadTemps(t.dir, base);

    // Current state, re-read under the lock.
    const current = currentStat(t.target);
    if (opts.ifAbsent && current) throw new AnswerNo({ what: "file already exists", subject: t.path, hint: "--if-absent: left unchanged" });
    if (opts.ifUnchanged !== undefined) {
      const want = opts.ifUnchanged.toLowerCase();
      const have = current ? sha256File(t.target) : undefined;
      if (have !== want) {
        throw new AnswerNo({
          what: "content changed",
          subject: t.path,
          hint: have === undefined ? "--if-unchanged: file does not exist; left unchanged" : `--if-unchanged: sha256 is ${have}; left unchanged`,
        });
      }
    }

    temp = createTemp(t.dir, base);
    unregisterTemp = registerCleanup(dropTemp);
    const tempPath = temp.path;
    const hasher = opts.hash ? new Bun.CryptoHasher("sha256") : undefined;

    // Fill the temp file.
    if (content.kind === "stream" || content.kind === "append") {
      if (content.kind === "append" && current) {
        const old = openRegularForRead(t.target);
        try {
          result.bytes += copyFd(old, temp.fd, hasher, t.target);
        } finally {
          closeSync(old);
        }
      }
      try {
        for await (const chunk of content.stream) {
          hasher?.update(chunk);
          writeAll(temp.fd, chunk, tempPath);
          result.bytes += chunk.length;
        }
      } catch (err) {
        if (err instanceof IoError || (err as { exitCode?: number }).exitCode !== undefined) throw err;
        throw fromErrno(err, { what: "cannot read input", subject: "stdin", hint: "FILE left unchanged" });
      }
    } else {
      let stdin: number | "inherit" = "inherit";
      let oldFd: number | undefined;
      if (content.kind === "edit") {
        oldFd = current ? openRegularForRead(t.target) : openSync("/dev/null", "r");
        stdin = oldFd;
      }
      const fd = temp.fd;
      let code: number;
      try {
        code = await runChild(
          content.argv,
          stdin,
          (chunk) => {
            hasher?.update(chunk);
            writeAll(fd, chunk, tempPath);
            result.bytes += chunk.length;
          },
          (pid) => lock?.adoptChild(pid),
        );
      } finally {
        if (oldFd !== undefined) closeSync(oldFd);
      }
      result.childExitCode = code;
      if (code !== 0) {
        dropTemp();
        return result;
      }
    }

    if (opts.noEmpty && result.bytes === 0) {
      throw new AnswerNo({ what: "refusing to replace with empty content", subject: t.path, hint: "--no-empty: left unchanged" });
    }
    if (fsync) {
      try {
        fsyncSync(temp.fd);
      } catch (err) {
        throw fromErrno(err, { what: "cannot fsync temp file", subject: tempPath });
      }
    }
    // The commit decision: pending signal handlers get their turn first (design.md §3).
    await checkpointSignals();

    // From here to the rename everything is synchronous: no signal handler can run in between.
    const now = currentStat(t.target);
    if (opts.ifAbsent && now) throw new AnswerNo({ what: "file already exists", subject: t.path, hint: "--if-absent: left unchanged" });
    applyMetadata(temp.fd, now, opts.mode);
    closeSync(temp.fd);
    const committedTemp = temp;
    temp = { path: committedTemp.path, fd: -1 };
    if (lock?.compromised) throw new IoError({ what: "lock was lost while writing", subject: lock.lockPath, hint: "FILE left unchanged" });
    if (opts.backupSuffix !== undefined && now) result.backup = makeBackup(t.target, t.dir, base, opts.backupSuffix);

    if (opts.ifAbsent) {
      try {
        linkSync(tempPath, t.target); // fails EEXIST instead of replacing: race-free create
      } catch (err) {
        if (errnoOf(err) === "EEXIST") throw new AnswerNo({ what: "file already exists", subject: t.path, hint: "--if-absent: left unchanged" });
        throw fromErrno(err, { what: "cannot create", subject: t.target });
      }
      try {
        unlinkSync(tempPath);
      } catch {
        /* the new file is in place; a leftover link is removed by a later sweep */
      }
    } else {
      try {
        renameSync(tempPath, t.target);
      } catch (err) {
        throw fromErrno(err, { what: "cannot rename temp file over", subject: t.target });
      }
    }
    temp = undefined;
    unregisterTemp();
    result.committed = true;
    if (fsync) {
      try {
        fsyncDir(t.dir);
      } catch (err) {
        throw fromErrno(err, { what: "cannot fsync directory (the new content is in place but may not survive a crash)", subject: t.dir });
      }
    }
    if (hasher) result.sha256 = hasher.digest("hex");
    return result;
  } finally {
    if (temp) {
      if (temp.fd === -1) {
        try {
          unlinkSync(temp.path);
        } catch {
          /* gone */
        }
        temp = undefined;
      } else dropTemp();
    }
    unregisterTemp?.();
    lock?.release();
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function currentStat(path: string) {
  try {
    const st = lstatSync(path);
    if (!st.isFile()) throw new CantCreateError({ what: `refusing to replace ${fileKind(st)}`, subject: path });
    mayReplace(path, st); // a file planted meanwhile in a shared sticky directory is not ours to replace
    return st;
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return undefined;
    if (err instanceof HardshellError) throw err;
    throw fromErrno(err, { what: "cannot examine", subject: path });
  }
}

/** Give the temp file the old file's owner/group (when permitted) and mode, or 0666&~umask, or `mode`. */
function applyMetadata(fd: number, old: ReturnType<typeof currentStat>, mode: number | undefined): void {
  if (old) {
    const st = fstatSync(fd);
    if (st.uid !== old.uid || st.gid !== old.gid) {
      try {
        fchownSync(fd, old.uid, old.gid);
      } catch {
        try {
          fchownSync(fd, -1, old.gid); // not permitted to give it away: keep at least the group if we may
        } catch {
          /* owner/group are kept "when permitted" (design.md §3) */
        }
      }
    }
  }
  // After chown: chown clears setuid/setgid bits.
  const finalMode = mode ?? (old ? old.mode & 0o7777 : 0o666 & ~process.umask());
  try {
    fchmodSync(fd, finalMode);
  } catch (err) {
    throw fromErrno(err, { what: "cannot set mode of temp file", subject: `${finalMode.toString(8)}` });
  }
}

/** Keep the old version as target+suffix: a hard link to the old inode (or a copy), put in place by rename. */
function makeBackup(target: string, dir: string, base: string, suffix: string): string {
  const backup = target + (suffix === "" ? "~" : suffix);
  let old: ReturnType<typeof lstatSync> | undefined;
  try {
    old = lstatSync(backup);
  } catch {
    old = undefined; // missing (or unreadable: the rename below reports it)
  }
  if (old) mayReplace(backup, old); // the backup name replaces what is there: same rule as FILE
  const tmp = join(dir, tempName(base));
  try {
    try {
      linkSync(target, tmp);
    } catch {
      copyFileSync(target, tmp, fsc.COPYFILE_EXCL);
    }
    renameSync(tmp, backup);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing made */
    }
    throw fromErrno(err, { what: "cannot make backup", subject: backup, hint: "FILE left unchanged" });
  }
  return backup;
}
