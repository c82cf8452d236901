/**
 * git-lock: find git lock files, tell live from stale, remove only stale ones;
 * serialize scripts on a repository (design.md §4). Also answers as `git lock ...`
 * when on PATH. Thin: one lib call per subcommand, then output + exit code.
 */
import { runMainWithSubcommands, subcommand } from "./_shared/main";
import { printError, stdout } from "./_shared/io";
import { defineCommand, type OptionTable } from "../lib/cli/options";
import { EXIT } from "../lib/core/exit";
import { cleanLocks, scanLocks, waitForLocks, type ScanOptions } from "../lib/git/operations";
import { actionOf, keptLines, LOCKFILE_PID_HINT, lockJson, removalLine, statusLines } from "../lib/git/report";
import { runLocked } from "../lib/git/run";

const P = "git-lock";

const repo = {
  repo: { type: "string", complete: "dir", describe: "Repository (work tree or git dir); default: the current directory, or GIT_DIR" },
} as const satisfies OptionTable;
const staleAfter = {
  "stale-after": {
    type: "string",
    kind: "duration",
    describe: "Age after which a lock with no live holder is stale (default 30s, 10s for run locks; 15m/1h when liveness is not visible)",
  },
} as const satisfies OptionTable;
const quiet = { quiet: { type: "boolean", alias: "q", describe: "Print nothing but errors" } } as const satisfies OptionTable;

const status = defineCommand({
  command: "git-lock status",
  usage: ["$0 [--repo PATH] [--json] [--stale-after D] [-- LOCK...]"],
  description: "List the repository's lock files with a verdict each: active, young, stale or unknown. Exit 0: nothing stale; 1: stale locks exist.",
  examples: [
    ["git-lock status", "list the locks of the repository in the current directory"],
    ["git-lock status --repo ~/src/app --json", "the same as JSON: path, kind, verdict, age_s, size, holders"],
    ["git lock status --stale-after 5m", "as a git subcommand, calling locks stale only after 5 minutes"],
  ],
  options: {
    ...repo,
    json: { type: "boolean", describe: "Print the locks as a JSON array" },
    ...staleAfter,
    force: { type: "boolean", describe: "Judge as `clean --force` would (no age threshold where liveness is visible)" },
    ...quiet,
  },
  maxPositionals: Infinity,
});

const clean = defineCommand({
  command: "git-lock clean",
  usage: ["$0 [--repo PATH] [--dry-run] [--stale-after D] [--force] [--json] [-- LOCK...]"],
  description:
    "Remove stale locks: no live holder and older than the threshold. Locks in use are never removed, --force included. Each removal is reported on stderr.",
  examples: [
    ["git-lock clean", "remove stale locks left by crashed git commands"],
    ["git-lock clean --dry-run", "show what would be removed"],
    ["git-lock clean --force", "in a hook or CI step: remove every lock no live process holds, whatever its age"],
  ],
  options: {
    ...repo,
    "dry-run": { type: "boolean", alias: "n", describe: "Report what would be removed; remove nothing" },
    ...staleAfter,
    force: { type: "boolean", describe: "No age threshold where liveness is visible (a live holder still keeps its lock)" },
    json: { type: "boolean", describe: "Print every lock as JSON with its action (removed, would-remove, kept, failed)" },
    ...quiet,
  },
  maxPositionals: Infinity,
});

const wait = defineCommand({
  command: "git-lock wait",
  usage: ["$0 [--repo PATH] [--timeout D] [--clean]"],
  description: "Wait until no live lock remains in the repository. Exit 75 when the timeout runs out first.",
  examples: [
    ["git-lock wait --timeout 30s && git pull", "let a running git finish before pulling"],
    ["git-lock wait --clean --timeout 2m", "wait, removing stale locks on the way"],
  ],
  options: {
    ...repo,
    timeout: { type: "string", kind: "duration", describe: "Give up after this long (exit 75)", default: "60s" },
    clean: { type: "boolean", describe: "Remove stale locks while waiting" },
    ...staleAfter,
    ...quiet,
  },
  maxPositionals: 0,
});

const run = defineCommand({
  command: "git-lock run",
  usage: ["$0 [--repo PATH] [--name NAME] [--timeout D] -- CMD [ARG...]"],
  description:
    "Run CMD while holding the repository-wide lock <common git dir>/hardshell-NAME.lock; concurrent runs wait their turn. Exit status is CMD's; 75 when the lock stayed busy past --timeout.",
  examples: [
    ["git-lock run -- ./deploy.sh", "never run two deploys of this checkout at once"],
    ["git-lock run --name fetch --timeout 5m -- git fetch --all", "serialize cron fetches across worktrees"],
  ],
  options: {
    ...repo,
    name: { type: "string", pattern: /^[A-Za-z0-9._-]+$/, expect: "letters, digits, '.', '_' and '-' only", describe: "Lock name: hardshell-NAME.lock", default: "run" },
    timeout: { type: "string", kind: "duration", describe: "Wait at most this long for the lock (exit 75)", default: "60s" },
    "stale-after": { type: "string", kind: "duration", describe: "Take over a lock whose owner is dead after this long (default 10s)", hidden: true },
  },
  maxPositionals: 0,
  passThrough: true,
});

const overview = defineCommand({
  command: "git-lock",
  usage: ["$0 status|clean|wait|run [opts]", "git lock status|clean|wait|run [opts]"],
  description: "Find git lock files, tell live from stale, remove only stale ones; serialize scripts on a repository.",
  examples: [
    ["git-lock status", "list locks with verdicts (exit 1 when something is stale)"],
    ["git lock clean --force", "remove every lock no live process holds"],
    ["git-lock run -- make release", "run a script under a repository-wide lock"],
  ],
  options: {},
  epilog:
    "Exit codes: 0 done (status: nothing stale; run: CMD's own exit code); 1 status: stale locks exist, clean: a stale lock could not be removed; " +
    "64 usage; 66 not a repository; 69 run: CMD not found; 75 wait, run: still locked when --timeout ran out; " +
    "128+N killed by signal N (run: CMD killed by it).",
});

/** What status, clean and wait share: the repository, the threshold, the locks named. */
function scanOpts(o: { repo?: string; "stale-after"?: number; force?: boolean }, paths: string[]): ScanOptions {
  return { repo: o.repo, staleAfterMs: o["stale-after"], force: o.force === true, paths };
}

function json(v: unknown): void {
  stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}

await runMainWithSubcommands(P, overview, {
  status: subcommand(status, (a) => {
      const r = scanLocks(scanOpts(a.opts, a.positionals));
      if (a.opts.json) json(r.locks.map((j) => lockJson(j)));
      else if (!a.opts.quiet) {
        for (const l of statusLines(r)) stdout.write(`${l}\n`);
        if (r.noHolderRecord) printError(`${P}: ${LOCKFILE_PID_HINT}`);
      }
      return r.locks.some((j) => j.verdict === "stale") ? EXIT.NO : EXIT.OK;
  }),
  clean: subcommand(clean, async (a) => {
      const r = await cleanLocks({ ...scanOpts(a.opts, a.positionals), dryRun: a.opts["dry-run"] });
      if (a.opts.json) json(r.locks.map((j) => lockJson(j, actionOf(r, j))));
      // Each removal is reported on stderr (design.md §4) unless --quiet (design.md §2.2).
      if (!a.opts.quiet) for (const x of r.removals) printError(removalLine(P, x, r.dryRun));
      if (!a.opts.quiet && !a.opts.json) for (const l of keptLines(P, r)) printError(l);
      return r.removals.some((x) => !r.dryRun && !x.outcome.removed && x.outcome.why !== "gone") ? EXIT.NO : EXIT.OK;
  }),
  wait: subcommand(wait, async (a) => {
      const r = await waitForLocks({ ...scanOpts(a.opts, a.positionals), timeoutMs: a.opts.timeout, clean: a.opts.clean });
      if (!a.opts.quiet) for (const x of r.removals) printError(removalLine(P, x, false));
      return EXIT.OK;
  }),
  run: subcommand(run, async (a) => {
      const r = await runLocked({ repo: a.opts.repo, name: a.opts.name, timeoutMs: a.opts.timeout, staleMs: a.opts["stale-after"], command: a.rest ?? [] });
      return r.exitCode;
  }),
});
