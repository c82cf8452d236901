/**
 * Standalone bench for atomic-write (issue 3, SPEC §2.5): run with
 *   bun scripts/bench/atomic-write.ts [--rounds N] [--mib N]
 * after `bun scripts/build.ts atomic-write`.
 *
 * 1. Start-up: median of >= 15 interleaved pairs (order alternates each round so
 *    neither side always runs on a warm cache) of
 *      atomic-write --no-fsync f          < small
 *      sh -c 'cat > f.tmp && mv f.tmp f'  < small
 *    printed as the median per-pair wall-time ratio (target <= 3.0).
 * 2. Throughput: a 512 MiB file through stdin (`atomic-write --no-fsync big < src`,
 *    and with fsync) against `cp src dst`, MB/s, median of 3.
 * 3. Peak RSS of the 512 MiB stream vs a trivial call (/usr/bin/time -f %M, or
 *    VmHWM from /proc when /usr/bin/time is missing).
 * Ratios, not absolute times: the machine is shared and noisy.
 */
import { mkdtempSync, rmSync, writeFileSync, openSync, closeSync, writeSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const AW = join(root, "dist", "atomic-write");
if (!existsSync(AW)) {
  process.stderr.write("bench: dist/atomic-write missing; run: bun scripts/build.ts atomic-write\n");
  process.exit(1);
}
const argv = process.argv.slice(2);
const argNum = (name: string, dflt: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const rounds = Math.max(15, argNum("--rounds", 15));
const mib = argNum("--mib", 512);
const tmp = mkdtempSync(join(tmpdir(), "hardshell-bench-aw."));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function timed(cmd: string[], stdinPath: string): number {
  const fd = openSync(stdinPath, "r");
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { cwd: tmp, stdin: fd, stdout: "ignore", stderr: "inherit" });
  const ms = performance.now() - t0;
  closeSync(fd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}`);
  return ms;
}

try {
  // 1. start-up ratio
  const small = join(tmp, "small");
  writeFileSync(small, "key=value\n".repeat(10));
  const aw = [AW, "--no-fsync", join(tmp, "f")];
  const sh = ["sh", "-c", "cat > f.tmp && mv f.tmp f"];
  for (let i = 0; i < 3; i++) (timed(aw, small), timed(sh, small)); // warm-up
  const ratios: number[] = [];
  const awMs: number[] = [];
  const shMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let a: number, b: number;
    if (i % 2 === 0) {
      a = timed(aw, small);
      b = timed(sh, small);
    } else {
      b = timed(sh, small);
      a = timed(aw, small);
    }
    awMs.push(a);
    shMs.push(b);
    ratios.push(a / b);
  }
  console.log(`## atomic-write start-up (${rounds} interleaved pairs, small file)`);
  console.log(`atomic-write --no-fsync      median ${median(awMs).toFixed(2)} ms`);
  console.log(`sh -c 'cat > f.tmp && mv'    median ${median(shMs).toFixed(2)} ms`);
  console.log(`ratio (median of per-pair)   ${median(ratios).toFixed(2)}x   (target <= 3.0)`);

  // 2. throughput
  const src = join(tmp, "src");
  const fd = openSync(src, "w");
  const block = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < mib; i++) writeSync(fd, block);
  closeSync(fd);
  const bytes = mib * 1024 * 1024;
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  const cpRuns: number[] = [];
  const awRuns: number[] = [];
  const awSyncRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    cpRuns.push(timed(["cp", src, join(tmp, "dst-cp")], small));
    awRuns.push(timed([AW, "--no-fsync", join(tmp, "dst-aw")], src));
    awSyncRuns.push(timed([AW, join(tmp, "dst-aw-sync")], src));
    rmSync(join(tmp, "dst-cp"), { force: true });
    rmSync(join(tmp, "dst-aw"), { force: true });
    rmSync(join(tmp, "dst-aw-sync"), { force: true });
  }
  console.log(`\n## ${mib} MiB through stdin (median of 3)`);
  console.log(`cp src dst                   ${mbps(median(cpRuns)).toFixed(0)} MB/s`);
  console.log(`atomic-write --no-fsync      ${mbps(median(awRuns)).toFixed(0)} MB/s  (${(median(cpRuns) / median(awRuns)).toFixed(2)}x cp's speed)`);
  console.log(`atomic-write (fsync)         ${mbps(median(awSyncRuns)).toFixed(0)} MB/s`);

  // 3. peak RSS
  const rss = (cmd: string[], stdinPath: string): number | undefined => {
    if (!existsSync("/usr/bin/time")) return undefined;
    const f = openSync(stdinPath, "r");
    const r = Bun.spawnSync(["/usr/bin/time", "-f", "%M", ...cmd], { cwd: tmp, stdin: f, stdout: "ignore", stderr: "pipe" });
    closeSync(f);
    const last = r.stderr.toString().trim().split("\n").pop();
    return last ? Number(last) : undefined;
  };
  const trivial = rss([AW, "--no-fsync", join(tmp, "t")], small);
  const big = rss([AW, "--no-fsync", join(tmp, "dst-rss")], src);
  console.log(`\n## peak RSS`);
  if (trivial === undefined || big === undefined) console.log("n/a (/usr/bin/time missing)");
  else {
    console.log(`trivial call                 ${(trivial / 1024).toFixed(1)} MiB`);
    console.log(`${mib} MiB stream               ${(big / 1024).toFixed(1)} MiB  (+${((big - trivial) / 1024).toFixed(1)} MiB; limit +64 MiB)`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
