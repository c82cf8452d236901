/**
 * hardshell: the one compiled binary behind every command (a multi-call
 * binary, like busybox). `atomic-write`, `git-lock` and `sqlite-exec` are
 * links to it; it picks the command by the name it was called by, and
 * `hardshell <command> [ARG...]` works too.
 *
 * Why one binary: each compiled command embeds the whole bun runtime (~100 MB),
 * so three binaries cost three runtimes on disk and in every download.
 *
 * Why `process.argv0`: in a bun-compiled binary `process.argv` is
 * ["bun", "/$bunfs/root/hardshell", ...] whatever the binary is called, and
 * `process.execPath` is /proc/self/exe, which resolves symlinks. `argv0` is
 * the argv[0] the caller passed: the link's name for a symlink, a hard link,
 * PATH lookup, git's `git lock` (git execs `git-lock`) and npm's bin links.
 * Measured with symlinks and hard links alike (docs/design.md §8).
 *
 * Each command module is a separate lazily imported chunk (the build uses
 * `--splitting`), so a call loads only its own command's code: dispatch adds
 * one dynamic import, not the other commands' modules. The command module
 * runs itself on import (`await runMain(...)`), reading process.argv from
 * index 2, so the `hardshell <command>` form removes the command word first.
 */
import pkg from "../package.json" with { type: "json" };

const COMMANDS: Record<string, () => Promise<unknown>> = {
  "atomic-write": () => import("./atomic-write"),
  "git-lock": () => import("./git-lock"),
  "sqlite-exec": () => import("./sqlite-exec"),
};

/** The file name part of argv[0]; "" when there is none. */
function calledAs(argv0: string): string {
  const i = argv0.lastIndexOf("/");
  return i === -1 ? argv0 : argv0.slice(i + 1);
}

const OVERVIEW = `Usage: hardshell COMMAND [ARG...]
       COMMAND [ARG...]            (through a link named after the command)

Small standalone commands that keep shell scripts, git hooks and cron jobs correct
under concurrency and crashes. Commands:

  atomic-write   replace a file all-or-nothing
  git-lock       find, judge and clean git lock files; serialize scripts on a repository
  sqlite-exec    run SQL against a SQLite database with a retry budget for busy/locked

Run \`hardshell COMMAND --help\` (or \`COMMAND --help\`, \`man COMMAND\`) for a command's options.
Exit codes: 0 success, 64 usage; each command documents the rest.
`;

async function main(): Promise<void> {
  const name = calledAs(process.argv0);
  const direct = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (direct) {
    await direct();
    return;
  }
  const word = process.argv[2];
  const sub = word !== undefined && Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
  if (sub) {
    process.argv.splice(2, 1);
    await sub();
    return;
  }
  if (word === "--version") {
    process.stdout.write(`hardshell ${pkg.version}\n`);
    process.exit(0);
  }
  if (word === "--help" || word === "-h") {
    process.stdout.write(OVERVIEW);
    process.exit(0);
  }
  if (word === "--list") {
    process.stdout.write(`${Object.keys(COMMANDS).join("\n")}\n`);
    process.exit(0);
  }
  if (word === undefined) {
    process.stderr.write(OVERVIEW);
    process.exit(64);
  }
  process.stderr.write(`hardshell: unknown command ${JSON.stringify(word)} (choose from ${Object.keys(COMMANDS).join(", ")})\n`);
  process.exit(64);
}

await main();
