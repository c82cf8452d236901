/**
 * Compile cmd/hardshell.ts (the multi-call entry) into ONE self-contained
 * executable dist/hardshell with `bun build --compile` (docs/design.md §1, §8),
 * make dist/<command> a symlink to it for every command, and copy
 * lib/hardshell.sh beside them.
 *
 * One binary instead of one per command: each compiled binary embeds the whole
 * bun runtime (~100 MB), so three commands cost 319 MiB; one costs ~107 MiB.
 * Symlinks rather than hard links: `process.argv0` holds the name called by
 * either way (measured), and a symlink survives `cp -r`/tar/install without
 * turning into three copies of the runtime.
 *
 * `--bytecode --format=esm` cut start-up, and `--splitting` keeps help,
 * completion and man pages (lib/cli/help.ts, man.ts) and each command's code
 * in lazily loaded chunks inside the
 * binary: a no-op call measured 3.8 ms with it vs 6.1 ms when the lazy import is
 * bundled into the main chunk.
 * Identifiers are NOT minified and the source map is embedded (`--sourcemap`),
 * so a HARDSHELL_DEBUG=1 trace reads `at openDatabase (lib/sqlite/open.ts:105:11)`
 * with real class names instead of `at De (/$bunfs/root/hardshell-0mr77gbb.js:2:2850)`
 * and "h:": a trace a user can paste into a bug report. Measured against full
 * `--minify` (300 alternating runs each, 2 shared cores): median `sqlite-exec
 * --version` 11.45 ms before, 10.39 ms now; a one-row insert 10.60 ms before,
 * 9.23 ms now: the same within this machine's noise. The binary is 111.6 MB
 * (was 111.7: the map costs ~0.4 MB, help no longer bundles yargs).
 * Profile-guided bytecode layout (`--bytecode-order`, bun's docs/bundler/executables.mdx):
 * the binary is built once, run for the calls users make most (a one-row INSERT, a SELECT,
 * atomic-write from a pipe, git-lock status) with BUN_BYTECODE_ORDER_OUT, and built again
 * with those profiles, so the bytecode those calls use sits together at the front and less
 * of the file is read and decoded. Measured side by side (40 interleaved rounds): 4-6% off
 * every trivial call. The profiles are hashes of functions, recorded on this machine at
 * build time (never committed) and reused for every cross-compiled target; a failed
 * recording only costs the layout, never the build.
 * A compiled binary would by default load `.env` and `bunfig.toml` from the
 * CURRENT directory at start: a `.env` in the user's repository setting GIT_DIR
 * would silently retarget git-lock, and a bunfig `preload` would run code from
 * it. Both are turned off (which also saves 0.3-0.6 ms per call).
 *
 * Usage: bun scripts/build.ts [--if-stale]
 *   --if-stale: skip the build when dist/hardshell is newer than every source file
 * Also imported by scripts/release.ts (compileBinary, linkCommands, COMMANDS).
 */
import { readdirSync, statSync, mkdirSync, copyFileSync, existsSync, chmodSync, lstatSync, unlinkSync, symlinkSync, readlinkSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, basename, dirname } from "node:path";

export const ROOT = join(import.meta.dir, "..");

/** The commands the multi-call binary answers to: every cmd/*.ts but the entry itself. */
export const COMMANDS: string[] = readdirSync(join(ROOT, "cmd"))
  .filter((f) => f.endsWith(".ts") && f !== "hardshell.ts")
  .map((f) => basename(f, ".ts"))
  .sort();

/**
 * JavaScriptCore's tier-up thresholds are multiplied by this in the binary (`--compile-jit-policy`,
 * bun's docs/bundler/executables.mdx "JIT policy"): a call runs most of its code once, and compiling
 * it cost more than it saved (callgrind: 11.3M -> 10.9M instructions for a one-row insert, one JIT
 * thread fewer). Loops over many rows or bytes still reach the JIT after a few thousand turns.
 */
export const JIT_POLICY = 10;

/** Compile the multi-call binary to `outfile`; `target` is a bun --target (default: this machine). */
export async function compileBinary(outfile: string, target?: string, order?: readonly string[]): Promise<{ ok: boolean; log: string }> {
  const args = [process.execPath, "build", "--compile", "--minify-whitespace", "--minify-syntax", "--sourcemap", "--bytecode", "--format=esm", "--splitting", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", `--compile-jit-policy=${JIT_POLICY}`];
  if (target) args.push(`--target=${target}`);
  if (order && order.length > 0) args.push(`--bytecode-order=${order.join(",")}`);
  args.push(join(ROOT, "cmd", "hardshell.ts"), "--outfile", outfile);
  const proc = Bun.spawn(args, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, errText, outText] = await Promise.all([proc.exited, new Response(proc.stderr).text(), new Response(proc.stdout).text()]);
  // --sourcemap embeds the maps in the binary (traces name lib/*.ts:line without them); the
  // copies bun also writes beside it are build debris that would pile up in dist/ and ship in archives.
  const dir = dirname(outfile);
  for (const f of readdirSync(dir)) if (f.endsWith(".map") && (f.endsWith(".js.map") || f === `${basename(outfile)}.map`)) unlinkSync(join(dir, f));
  return { ok: code === 0, log: outText + errText };
}

/**
 * Run the freshly built host binary `binary` for the calls users make most, most common first,
 * each writing a bytecode-order profile into a new temp directory. Returns the profiles (empty
 * when none could be recorded) and a cleanup that removes the directory.
 */
export function recordBytecodeOrder(binary: string): { files: string[]; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "hardshell-order-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const db = join(dir, "a.db");
  const calls: { argv: string[]; stdin?: string }[] = [
    { argv: ["sqlite-exec", "--create", db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v)"] },
    { argv: ["sqlite-exec", db, "INSERT INTO t(v) VALUES (1)"] },
    { argv: ["sqlite-exec", db, "SELECT id, v FROM t"] },
    { argv: ["atomic-write", join(dir, "f")], stdin: "hello\n" },
  ];
  const repo = join(dir, "repo");
  if (Bun.spawnSync(["git", "init", "-q", repo], { stdout: "ignore", stderr: "ignore", timeout: 20_000 }).exitCode === 0) {
    calls.push({ argv: ["git-lock", "status", "--repo", repo] });
  }
  const files: string[] = [];
  calls.forEach((c, i) => {
    const out = join(dir, `${String(i).padStart(2, "0")}.order`);
    const r = Bun.spawnSync([binary, ...c.argv], {
      cwd: dir,
      env: { ...process.env, BUN_BYTECODE_ORDER_OUT: out },
      stdin: c.stdin === undefined ? "ignore" : new TextEncoder().encode(c.stdin),
      stdout: "ignore",
      stderr: "ignore",
      timeout: 20_000, // a hang guard only: a call that hangs costs its profile, never the build
    });
    if (r.exitCode === 0 && existsSync(out)) files.push(out);
  });
  return { files, cleanup };
}

/** Compile `outfile` for this machine, then again laid out by the profiles of its common calls. */
export async function compileProfiled(outfile: string): Promise<{ ok: boolean; log: string; order: string[]; cleanup: () => void }> {
  const first = await compileBinary(outfile);
  if (!first.ok) return { ...first, order: [], cleanup: () => {} };
  const rec = recordBytecodeOrder(outfile);
  if (rec.files.length === 0) return { ...first, order: [], cleanup: rec.cleanup };
  const second = await compileBinary(outfile, undefined, rec.files);
  return { ...second, order: rec.files, cleanup: rec.cleanup };
}

/** Make `dir/<command>` a relative symlink to `dir/hardshell` for every command (replacing old files). */
export function linkCommands(dir: string): void {
  for (const name of COMMANDS) {
    const p = join(dir, name);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink() && readlinkSync(p) === "hardshell") continue;
    if (st) unlinkSync(p);
    symlinkSync("hardshell", p);
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts") || e.name.endsWith(".json")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

if (import.meta.main) {
  const dist = join(ROOT, "dist");
  mkdirSync(dist, { recursive: true });
  const ifStale = process.argv.includes("--if-stale");
  const srcTime = Math.max(newestSource(join(ROOT, "cmd")), newestSource(join(ROOT, "lib")), statSync(join(ROOT, "package.json")).mtimeMs);
  const out = join(dist, "hardshell");
  let failed = false;
  if (!(ifStale && existsSync(out) && statSync(out).mtimeMs > srcTime)) {
    const r = await compileProfiled(out);
    r.cleanup();
    if (!r.ok) {
      failed = true;
      process.stderr.write(`build: hardshell failed\n${r.log}`);
    } else {
      process.stdout.write(`build: dist/hardshell\n`);
    }
  }
  if (!failed) {
    linkCommands(dist);
    for (const name of COMMANDS) process.stdout.write(`build: dist/${name} -> hardshell\n`);
  }
  const sh = join(ROOT, "lib", "hardshell.sh");
  if (existsSync(sh)) {
    copyFileSync(sh, join(dist, "hardshell.sh"));
    chmodSync(join(dist, "hardshell.sh"), 0o644);
  }
  process.exit(failed ? 1 : 0);
}
