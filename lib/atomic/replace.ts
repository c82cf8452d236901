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
 * `-- CMD` / `--edit`: CMD's stdout is a pipe that we move into the temp
 * file (never the temp file itself), so a failed write is ours to see (disk
 * full: IoError, exit 74, even when CMD ignores its own write errors), and no
 * process keeps a descriptor of what becomes FILE. The bytes move by splice(2)
 * inside the kernel where possible (kernel.ts), else through JS; --print-hash
 * reads the temp file back, so the hash is of what will become FILE. The commit happens at EOF
 * of that pipe and CMD's exit 0: a background descendant that still holds
 * CMD's stdout delays the commit (its output is part of the content, as with
 * `$(CMD)`), and nothing can change FILE after we return.
 *
 * stdin mode (`fd` given): stdin is read from its current offset, as `cat` would, with
 * copy_file_range(2) from a file and splice(2) from a pipe where the kernel allows (stdin.ts);
 * the same EOF-only knowledge of the producer as any stream.
 *
 * Messages name FILE as the user typed it and files beside it by the typed directory
 * (target.ts shownTarget/shownInDir); the real path only past a symlink.
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
  renameSync,
  unlinkSync,
} from "node:fs";
import { basename, join } from "node:path";
import { AnswerNo, CantCreateError, displayPath, errnoOf, fromErrno, HardshellError, IoError, NoInputError, UnavailableError } from "../core/errors";
import { holdLock, lockPathFor, type HeldLock } from "../core/dirlock";
import { signalExitCode } from "../core/exit";
import { checkpointSignals, onSignal, registerCleanup } from "../core/signals";
import { hardshellName, sweepDead } from "../core/tempname";
import { UncreatableDirError } from "./errors";
import { copyFd, copyFileContent, sha256OfFd, writeAll } from "./copy";
import { openPipe } from "./pipe";
import { copyStdin } from "./stdin";
import { fileKind, fsyncDir, mayReplace, resolveTarget, shownDir, shownInDir, shownTarget } from "./target";
import { createTemp, isDirectory, type TempFile } from "./temp";

/** Where the new content comes from. */
export type Content =
  /**
   * stdin mode: the stream's bytes, as they are. With `fd` (stdin's descriptor), the bytes are
   * read from that descriptor at its current offset, in the kernel where possible (stdin.ts), and
   * `stream` (the same input; iterate it lazily) only finishes what a pipe's splice could not.
   */
  | { kind: "stream"; stream: AsyncIterable<Uint8Array>; fd?: number }
  /** `-- CMD`: CMD's stdout, committed only if CMD exits 0. */
  | { kind: "command"; argv: string[] }
  /** `--edit FILE -- CMD`: old content on CMD's stdin, CMD's stdout is the new content. */
  | { kind: "edit"; argv: string[] }
  /** `--append`: old content followed by the stream. */
  | { kind: "append"; stream: AsyncIterable<Uint8Array>; fd?: number };

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
  /** The same, as messages name them (FILE's directory as typed + the temp's name). */
  removedTempsShown: string[];
}

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** Open an existing regular file for reading without ever blocking on a FIFO swapped in meanwhile. */
function openRegularForRead(path: string, shown: string = displayPath(path)): number {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK | (fsc.O_NOFOLLOW ?? 0));
  } catch (err) {
    throw fromErrno(err, { what: "cannot read current content", subject: shown, subjectAsTyped: true });
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new CantCreateError({ what: `refusing to replace ${fileKind(st)}`, subject: shown, hint: "atomic-write only replaces regular files" });
  }
  return fd;
}

/** sha256 (hex) of a regular file's content, read in chunks; `shown` names it in messages. */
export function sha256File(path: string, shown: string = displayPath(path)): string {
  const fd = openRegularForRead(path, shown);
  try {
    const h = new Bun.CryptoHasher("sha256");
    copyFd(fd, -1, h, shown);
    return h.digest("hex");
  } finally {
    closeSync(fd);
  }
}

/** sha256 (hex) of bytes, for callers and tests. */
export function sha256Hex(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** Where CMD's output goes: appended to `fd` (the temp file) at its offset; `count` sees every byte. */
interface Sink {
  fd: number;
  subject: string;
  count: (n: number) => void;
}

/**
 * Run CMD with its stdout on a pipe and move everything it writes into `sink.fd` (the temp file):
 * with splice(2) inside the kernel when we own a real pipe (kernel.ts), else, and from wherever
 * splice gave up, through a JS read/write loop (which then meets and reports a real write error
 * such as ENOSPC with its own errno). Resolves with CMD's exit code (128+N when killed by signal N):
 * - non-zero: at once, without waiting for EOF; the read end is closed, so a descendant still
 *   writing gets EPIPE/SIGPIPE and nothing it writes can reach FILE;
 * - 0: only after EOF, i.e. once CMD and every descendant that inherited its stdout closed it
 *   (as `$(CMD)` does): the commit happens at EOF, so no late write can change FILE after exit.
 * A `sink` failure (disk full) or a read error rejects, after closing the read end (CMD then gets
 * SIGPIPE at its next write, like the producer of `CMD | head`) and after CMD has exited.
 */
async function runChild(argv: string[], stdin: number | "inherit", sink: Sink, onSpawn?: (pid: number) => void): Promise<number> {
  const pipe = await openPipe();
  const kmod = pipe ? await import("./kernel") : undefined;
  const k = kmod ? await kmod.kernel() : null;
  // A bigger pipe lets CMD write ahead while we move the last batch (best effort: an unprivileged
  // user over fs.pipe-user-pages-soft keeps 64 KiB, proc_sys_fs(5)).
  if (pipe && k && kmod) k.setPipeSize(pipe.write, kmod.PIPE_SIZE);
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
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let failure: unknown;
  let eof = false;
  let finished = false; // runChild is returning: the read end is (being) closed, hands off
  const pumping = (async () => {
    try {
      if (pipe && k && kmod) {
        const how = await kmod.spliceAll(k, pipe.read, sink.fd, sink.count, () => finished || readClosed);
        if (how === "eof") {
          eof = true;
          return;
        }
        if (how === "stopped") return;
        // "failed": what splice did not move is still in the pipe; the loop below reads it.
      }
      if (finished || readClosed) return;
      const stream = (pipe ? Bun.file(pipe.read).stream() : child.stdout) as ReadableStream<Uint8Array>;
      reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          eof = true;
          return;
        }
        writeAll(sink.fd, value, sink.subject);
        sink.count(value.length);
      }
    } catch (err) {
      failure = err instanceof HardshellError ? err : fromErrno(err, { what: "cannot read the command's output", subject: argv[0], hint: "FILE left unchanged" });
      await reader?.cancel().catch(() => {});
      closeRead(); // CMD gets SIGPIPE at its next write instead of blocking on a full pipe
    }
  })();
  try {
    const exit = await child.exited;
    const code = signalExitCode(child.signalCode === null ? null : String(child.signalCode)) ?? exit;
    if (failure) throw failure;
    if (code !== 0) return code;
    await pumping; // the commit happens at EOF: wait for every writer of the pipe
    if (failure) throw failure;
    return 0;
  } finally {
    off();
    finished = true;
    if (!eof) await reader?.cancel().catch(() => {});
    closeRead();
  }
}

export async function replaceAtomically(file: string, content: Content, opts: ReplaceOptions = {}): Promise<ReplaceResult> {
  const fsync = opts.fsync !== false;
  const t = resolveTarget(file, { mkdir: opts.mkdir });
  const base = basename(t.target);
  // Messages name FILE as the user typed it, and files beside it by the typed directory.
  const shown = shownTarget(t);
  const inDir = (name: string) => shownInDir(t, name);
  const result: ReplaceResult = { committed: false, target: t.target, bytes: 0, removedTemps: [], removedTempsShown: [] };

  if (opts.ifAbsent && t.stat) throw new AnswerNo({ what: "file already exists", subject: t.typed, hint: "--if-absent: left unchanged" });

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
        if (err instanceof NoInputError && isDirectory(t.dir)) {
          throw new UncreatableDirError({ dir: t.dir, target: t.target, errno: "ENOENT", cause: err, shownDir: shownDir(t), shownTarget: shown });
        }
        throw err;
      }
    }
    result.removedTemps = sweepDead(t.dir, base, "tmp");
    result.removedTempsShown = result.removedTemps.map((p) => inDir(basename(p)));

    // Current state, re-read under the lock.
    const current = currentStat(t.target, shown);
    if (opts.ifAbsent && current) throw new AnswerNo({ what: "file already exists", subject: t.typed, hint: "--if-absent: left unchanged" });
    if (opts.ifUnchanged !== undefined) {
      const want = opts.ifUnchanged.toLowerCase();
      const have = current ? sha256File(t.target, shown) : undefined;
      if (have !== want) {
        throw new AnswerNo({
          what: "content changed",
          subject: t.typed,
          hint: have === undefined ? "--if-unchanged: file does not exist; left unchanged" : `--if-unchanged: sha256 is ${have}; left unchanged`,
        });
      }
    }

    temp = createTemp(t.dir, base, inDir);
    unregisterTemp = registerCleanup(dropTemp);
    const tempPath = temp.path;
    const tempShown = temp.shown;

    // Fill the temp file.
    if (content.kind === "stream" || content.kind === "append") {
      if (content.kind === "append" && current) {
        const old = openRegularForRead(t.target, shown);
        try {
          // The old part is copied in the kernel where the file system allows (reflink, else
          // copy_file_range): the cost of an append is then far below reading and writing it all.
          result.bytes += (await copyFileContent(old, temp.fd, tempShown, { size: current.size })).bytes;
        } finally {
          closeSync(old);
        }
      }
      try {
        if (content.fd !== undefined) {
          const stream = content.stream;
          await copyStdin(content.fd, () => stream, { fd: temp.fd, subject: tempShown, empty: result.bytes === 0, count: (n) => (result.bytes += n) });
        } else {
          for await (const chunk of content.stream) {
            writeAll(temp.fd, chunk, tempShown);
            result.bytes += chunk.length;
          }
        }
      } catch (err) {
        if (err instanceof IoError || (err as { exitCode?: number }).exitCode !== undefined) throw err;
        throw fromErrno(err, { what: "cannot read input", subject: "stdin", hint: "FILE left unchanged" });
      }
    } else {
      let stdin: number | "inherit" = "inherit";
      let oldFd: number | undefined;
      if (content.kind === "edit") {
        oldFd = current ? openRegularForRead(t.target, shown) : openSync("/dev/null", "r");
        stdin = oldFd;
      }
      const fd = temp.fd;
      let code: number;
      try {
        code = await runChild(content.argv, stdin, { fd, subject: tempShown, count: (n) => (result.bytes += n) }, (pid) => lock?.adoptChild(pid));
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
      throw new AnswerNo({ what: "refusing to replace with empty content", subject: t.typed, hint: "--no-empty: left unchanged" });
    }
    // The hash of what the temp file holds, read back: the bytes may never have passed through
    // this process (splice, clone), and it is what a later --if-unchanged compares against.
    const sha256 = opts.hash ? sha256OfFd(temp.fd, tempShown) : undefined;
    if (fsync) {
      try {
        fsyncSync(temp.fd);
      } catch (err) {
        throw fromErrno(err, { what: "cannot fsync temp file", subject: tempShown, subjectAsTyped: true });
      }
    }
    // The commit decision: pending signal handlers get their turn first (design.md §3).
    await checkpointSignals();

    // From here to the rename everything is synchronous: no signal handler can run in between.
    const now = currentStat(t.target, shown);
    if (opts.ifAbsent && now) throw new AnswerNo({ what: "file already exists", subject: t.typed, hint: "--if-absent: left unchanged" });
    applyMetadata(temp.fd, now, opts.mode);
    closeSync(temp.fd);
    const committedTemp = temp;
    temp = { ...committedTemp, fd: -1 };
    if (lock?.compromised) throw new IoError({ what: "lock was lost while writing", subject: inDir(basename(lock.lockPath)), hint: "FILE left unchanged" });
    if (opts.backupSuffix !== undefined && now) result.backup = makeBackup(t.target, t.dir, base, opts.backupSuffix, shown);

    if (opts.ifAbsent) {
      try {
        linkSync(tempPath, t.target); // fails EEXIST instead of replacing: race-free create
      } catch (err) {
        if (errnoOf(err) === "EEXIST") throw new AnswerNo({ what: "file already exists", subject: t.typed, hint: "--if-absent: left unchanged" });
        throw fromErrno(err, { what: "cannot create", subject: shown, subjectAsTyped: true });
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
        throw fromErrno(err, { what: "cannot rename temp file over", subject: shown, subjectAsTyped: true });
      }
    }
    temp = undefined;
    unregisterTemp();
    result.committed = true;
    if (fsync) {
      try {
        fsyncDir(t.dir);
      } catch (err) {
        throw fromErrno(err, { what: "cannot fsync directory (the new content is in place but may not survive a crash)", subject: shownDir(t), subjectAsTyped: true });
      }
    }
    if (sha256) result.sha256 = sha256;
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

function currentStat(path: string, shown: string) {
  try {
    const st = lstatSync(path);
    if (!st.isFile()) throw new CantCreateError({ what: `refusing to replace ${fileKind(st)}`, subject: shown, hint: "atomic-write only replaces regular files" });
    mayReplace(path, st, shown); // a file planted meanwhile in a shared sticky directory is not ours to replace
    return st;
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return undefined;
    if (err instanceof HardshellError) throw err;
    throw fromErrno(err, { what: "cannot examine", subject: shown, subjectAsTyped: true });
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
function makeBackup(target: string, dir: string, base: string, suffix: string, shown: string): string {
  const ext = suffix === "" ? "~" : suffix;
  const backup = target + ext;
  let old: ReturnType<typeof lstatSync> | undefined;
  try {
    old = lstatSync(backup);
  } catch {
    old = undefined; // missing (or unreadable: the rename below reports it)
  }
  if (old) mayReplace(backup, old, shown + ext); // the backup name replaces what is there: same rule as FILE
  const tmp = join(dir, hardshellName(base, "tmp"));
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
    throw fromErrno(err, { what: "cannot make backup", subject: shown + ext, subjectAsTyped: true, hint: "FILE left unchanged" });
  }
  return backup;
}
