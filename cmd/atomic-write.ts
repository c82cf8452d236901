/**
 * atomic-write: replace a file all-or-nothing (design.md §3). Thin: the option
 * table, argument checks, one call to lib/atomic/replace.ts, the outcome.
 */
import { runMain } from "./_shared/main";
import { printError, stdout } from "./_shared/io";
import { defineCommand, type ParsedArgs } from "../lib/cli/options";
import { AnswerNo, noticeLine, UsageError } from "../lib/core/errors";
import { replaceAtomically, type Content } from "../lib/atomic/replace";

const PROGRAM = "atomic-write";

const table = defineCommand({
  command: PROGRAM,
  usage: [
    "$0 [options] FILE                      new content from stdin",
    "$0 [options] FILE -- CMD [ARG...]      new content = CMD's stdout, committed only if CMD exits 0",
    "$0 [options] --edit FILE -- CMD ...    old content on CMD's stdin, CMD's stdout is the new content (locked)",
    "$0 [options] --append FILE             new content = old content + stdin (locked)",
  ],
  description:
    "Replace FILE all-or-nothing: a reader sees the whole old or the whole new content, never a part. " +
    "The new content goes to a temp file in FILE's directory, is fsynced, renamed over FILE, and the directory is fsynced. " +
    "On any failure FILE is left unchanged and no temp file remains. Prefer `-- CMD` for producers that can fail: " +
    "stdin cannot tell a finished producer from one that died.",
  examples: [
    ["$0 app.conf -- render-config --env prod", "write the config only if render-config (your generator) succeeds"],
    ["$0 --edit counter -- sh -c 'read n; echo $((n+1))'", "increment a counter; concurrent editors never lose an update"],
    ["$0 --edit notes.txt -- sh -c 'f=$(mktemp) && cat > \"$f\" && ${EDITOR:-vi} \"$f\" </dev/tty >/dev/tty && cat \"$f\"; s=$?; rm -f \"$f\"; exit $s'", "edit a file in $EDITOR under the lock; if the editor fails, the file is left unchanged"],
    ["date | $0 --append --no-fsync log.txt", "append a line under the file lock"],
    ["h=$($0 --print-hash state.json < new.json)", "write and remember the content hash for a later --if-unchanged"],
    ["$0 --if-absent --mode 0600 token.txt -- openssl rand -hex 16", "create a secret once; exit 1 (nothing written) when it exists"],
  ],
  options: {
    edit: { type: "boolean", conflicts: ["append"], describe: "Pipe FILE's old content into CMD; CMD's stdout becomes the new content (takes the lock)" },
    append: {
      type: "boolean",
      describe:
        "New content is the old content followed by stdin (takes the lock). Rewrites the whole file: cheap on reflink file systems (btrfs, xfs), " +
        "elsewhere an in-kernel copy of FILE (and its fsync) per call; for big growing logs see the README",
    },
    mode: { type: "string", pattern: /^[0-7]{1,4}$/, expect: "octal, e.g. 0644", describe: "Mode of the file, octal (e.g. 0644); default: keep the old mode, or 0666 & ~umask" },
    mkdir: { type: "boolean", describe: "Create FILE's missing parent directories" },
    "no-fsync": { type: "boolean", describe: "Skip both fsyncs: still atomic for readers, not durable across a crash" },
    backup: { type: "string", optionalValue: true, describe: "Keep the old version as FILE~ (or FILE+SUFFIX with --backup=SUFFIX)" },
    "if-unchanged": {
      type: "string",
      pattern: /^[0-9a-fA-F]{64}$/,
      expect: "a sha256 in hex, 64 characters, e.g. from --print-hash or sha256sum",
      describe: "Replace only if the current content has this sha256 (else exit 1); takes the lock" },
    "if-absent": { type: "boolean", conflicts: ["if-unchanged", "edit", "append"], describe: "Create FILE only if it does not exist (race-free; else exit 1)" },
    lock: { type: "boolean", describe: "Hold FILE.lock (proper-lockfile compatible) while writing" },
    "lock-timeout": { type: "string", kind: "duration", default: "30s", describe: "Give up waiting for the lock after this long (exit 75)" },
    "print-hash": { type: "boolean", describe: "Print the new content's sha256 on stdout" },
    "no-empty": { type: "boolean", describe: "Refuse to replace FILE with empty content (exit 1)" },
    quiet: { type: "boolean", alias: "q", describe: "Print nothing but errors" },
  },
  maxPositionals: 1,
  passThrough: true,
  epilog:
    "Exit codes: 0 written; 1 precondition not met (--if-unchanged, --if-absent, --no-empty), nothing written; " +
    "64 usage; 73 FILE is a directory/FIFO/socket/device or its directory is missing; 74 I/O error (disk full, also while copying CMD's output); " +
    "75 lock timeout; 77 permission denied (also: another user's symlink or file in a world-writable sticky directory, a file system such as /proc that cannot create files); " +
    "128+N killed by signal N; with -- CMD, CMD's own non-zero exit code. With -- CMD the commit happens at EOF of CMD's stdout.",
});

/** Bun's stdin stream, created only if lib iterates it (lib reads fd 0 itself where it can). */
function lazyStdinStream(): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => (Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() };
}

async function body({ opts, positionals, rest }: ParsedArgs<typeof table.options>): Promise<number> {
  const file = positionals[0];
  if (file === undefined || file === "") throw new UsageError({ what: "missing FILE", hint: `see ${PROGRAM} --help` });
  const { edit, append, quiet } = opts;
  const usage = `${PROGRAM} [opts] FILE -- CMD [ARG...]`;
  if (edit && (!rest || rest.length === 0)) throw new UsageError({ what: "--edit needs a command", hint: `${PROGRAM} --edit FILE -- CMD [ARG...]` });
  if (rest !== undefined && rest.length === 0) throw new UsageError({ what: "missing command after --", hint: `put the command after --: ${usage}` });
  if (append && rest) throw new UsageError({ what: "--append reads stdin; it takes no command", hint: `drop --append to write CMD's output: ${usage}` });

  const content: Content = edit
    ? { kind: "edit", argv: rest! }
    : rest
      ? { kind: "command", argv: rest }
      : { kind: append ? "append" : "stream", fd: 0, stream: lazyStdinStream() };

  let res;
  try {
    res = await replaceAtomically(file, content, {
      mode: opts.mode === undefined ? undefined : parseInt(opts.mode, 8),
      mkdir: opts.mkdir,
      fsync: !opts["no-fsync"],
      backupSuffix: opts.backup,
      ifUnchanged: opts["if-unchanged"],
      ifAbsent: opts["if-absent"],
      lock: opts.lock,
      lockTimeoutMs: opts["lock-timeout"],
      noEmpty: opts["no-empty"],
      hash: opts["print-hash"],
      command: `${PROGRAM} ${file}`,
    });
  } catch (err) {
    if (quiet && err instanceof AnswerNo) return err.exitCode;
    throw err;
  }
  if (!quiet) for (const p of res.removedTempsShown) printError(noticeLine(PROGRAM, "removed a dead writer's temp file", p));
  if (!res.committed) {
    const code = res.childExitCode ?? 70;
    if (!quiet) printError(noticeLine(PROGRAM, "command failed", rest?.[0], `exit ${code}; ${file} left unchanged`));
    return code;
  }
  if (res.sha256) stdout.write(`${res.sha256}\n`);
  return 0;
}

await runMain(PROGRAM, table, body);
