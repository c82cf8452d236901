/**
 * Item 5 — atomic-write against the shell idioms it replaces:
 * - small file: `atomic-write --no-fsync F` vs `cat > F.tmp && mv F.tmp F` (neither fsyncs),
 *   the same through `-- cat` (CMD's stdout is a pipe that atomic-write moves into the temp
 *   file with splice(2): the cost of seeing CMD's write errors), and the durable pair `atomic-write F` vs
 *   `cat > F.tmp && sync F.tmp && mv F.tmp F && sync .`;
 * - a 512 MiB stream: MB/s of `atomic-write --no-fsync DEST < SRC`, of `cat SRC | atomic-write
 *   --no-fsync DEST` and of `atomic-write --no-fsync DEST -- cat SRC` vs `cp SRC DEST` (and the
 *   pipe also vs `cat SRC | cat > DEST.tmp && mv DEST.tmp DEST`);
 * - peak resident memory while streaming (GNU time %M), from a file and from a pipe, against
 *   the command's own trivial call: design.md §3 bounds the extra to < 64 MiB for 1 GiB;
 * - one line appended to a 512 MiB file: `atomic-write --append` (which must copy the old part
 *   into its temp file: reflink or copy_file_range where the file system allows) vs the
 *   all-or-nothing idiom `cat F - > F.tmp && mv F.tmp F` and vs plain `>>` (not atomic, no
 *   copy: the floor), with and without fsync.
 *
 * Why: atomic-write must be cheap enough to use for every config write in a script, and must
 * stream big files without holding them in memory. Rounds are interleaved; ratios are medians
 * of per-round ratios; every round's result file is checked (size) so a wrong write cannot win.
 */
import { openSync, statSync, writeSync, closeSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bin, fmt, interleave, median, peakRssKiB, ratioOfPairs, runSync, skipped, type BenchCtx, type Section, workDir } from "./_lib";

export async function run(ctx: BenchCtx): Promise<Section[]> {
  const aw = bin("atomic-write");
  if (!aw) return [skipped("5. atomic-write", "dist/atomic-write is not built")];
  const dir = workDir(ctx, "atomic");
  const bad = new Map<string, number>();
  const check = (name: string, path: string, size: number, code: number | null) => {
    let ok = code === 0;
    try {
      ok &&= statSync(path).size === size;
    } catch {
      ok = false;
    }
    if (!ok) bad.set(name, (bad.get(name) ?? 0) + 1);
  };

  // --- small file ---
  const small = "key = value\n".repeat(20); // 240 bytes, a typical config file
  const f = join(dir, "small.conf");
  writeFileSync(f, "old\n");
  const sh = (cmd: string) => ["sh", "-c", cmd, "sh", f];
  const smallRuns = [
    { name: "aw-nofsync", argv: [aw, "--no-fsync", f] },
    { name: "cat-mv", argv: sh('cat > "$1.tmp" && mv "$1.tmp" "$1"') },
    { name: "aw-cmd-nofsync", argv: [aw, "--no-fsync", f, "--", "cat"] },
    { name: "aw-fsync", argv: [aw, f] },
    { name: "cat-sync-mv", argv: sh('cat > "$1.tmp" && sync "$1.tmp" && mv "$1.tmp" "$1" && sync "$(dirname "$1")"') },
  ];
  const rounds = ctx.roundsForced ? ctx.rounds : Math.max(ctx.rounds, ctx.quick ? 5 : 21);
  ctx.log(`atomic-write small file: ${rounds} interleaved rounds`);
  const ts = await interleave(
    rounds,
    smallRuns.map((c) => ({
      name: c.name,
      run: () => {
        const r = runSync(c.argv, { stdin: small, cwd: dir });
        check(c.name, f, small.length, r.code);
        return r.ms;
      },
    })),
    2,
  );
  const smallSection: Section = {
    title: "5a. atomic-write: small file (240 bytes) vs the shell idiom",
    method: `${rounds} interleaved rounds (2 warm-up dropped), same 240-byte stdin for every call. Ratio = median over rounds of atomic-write / idiom in the same round. "bad" = runs that failed or left a wrong size.`,
    headers: ["atomic-write call", "median ms", "idiom", "median ms", "ratio", "bad"],
    rows: [
      ["`atomic-write --no-fsync F`", fmt.ms(median(ts.get("aw-nofsync")!)), "`cat > F.tmp && mv F.tmp F`", fmt.ms(median(ts.get("cat-mv")!)), fmt.ratio(ratioOfPairs(ts.get("aw-nofsync")!, ts.get("cat-mv")!)), String((bad.get("aw-nofsync") ?? 0) + (bad.get("cat-mv") ?? 0))],
      ["`atomic-write --no-fsync F -- cat`", fmt.ms(median(ts.get("aw-cmd-nofsync")!)), "`cat > F.tmp && mv F.tmp F`", fmt.ms(median(ts.get("cat-mv")!)), fmt.ratio(ratioOfPairs(ts.get("aw-cmd-nofsync")!, ts.get("cat-mv")!)), String((bad.get("aw-cmd-nofsync") ?? 0) + (bad.get("cat-mv") ?? 0))],
      ["`atomic-write F` (fsync file + dir)", fmt.ms(median(ts.get("aw-fsync")!)), "`cat > F.tmp && sync F.tmp && mv F.tmp F && sync DIR`", fmt.ms(median(ts.get("cat-sync-mv")!)), fmt.ratio(ratioOfPairs(ts.get("aw-fsync")!, ts.get("cat-sync-mv")!)), String((bad.get("aw-fsync") ?? 0) + (bad.get("cat-sync-mv") ?? 0))],
    ],
    notes: [
      `target (issue 3): atomic-write --no-fsync <= 3.00x the idiom; measured ${fmt.ratio(ratioOfPairs(ts.get("aw-nofsync")!, ts.get("cat-mv")!))} (stdin), ${fmt.ratio(ratioOfPairs(ts.get("aw-cmd-nofsync")!, ts.get("cat-mv")!))} (-- cat).`,
    ],
  };

  // --- 512 MiB stream ---
  const mib = ctx.quick ? 64 : 512;
  const size = mib * 1024 * 1024;
  const src = join(dir, "src.bin");
  const block = new Uint8Array(1024 * 1024);
  crypto.getRandomValues(block.subarray(0, 65536));
  for (let i = 65536; i < block.length; i += 65536) block.set(block.subarray(0, 65536), i);
  block[0] = 0; // NUL bytes are part of the stream
  const fd = openSync(src, "w");
  for (let i = 0; i < mib; i++) {
    block[1] = i & 0xff;
    writeSync(fd, block);
  }
  closeSync(fd);
  const dAw = join(dir, "dest-aw.bin");
  const dCp = join(dir, "dest-cp.bin");
  const streamRounds = ctx.rounds;
  ctx.log(`atomic-write stream: ${mib} MiB, ${streamRounds} interleaved rounds`);
  const tt = await interleave(
    streamRounds,
    [
      {
        name: "aw",
        run: () => {
          const r = runSync([aw, "--no-fsync", dAw], { stdin: { file: src }, timeoutMs: 300_000 });
          check("aw-stream", dAw, size, r.code);
          return r.ms;
        },
      },
      {
        name: "aw-cmd",
        run: () => {
          const r = runSync([aw, "--no-fsync", dAw, "--", "cat", src], { timeoutMs: 300_000 });
          check("aw-cmd-stream", dAw, size, r.code);
          return r.ms;
        },
      },
      {
        name: "aw-pipe",
        run: () => {
          const r = runSync(["sh", "-c", 'cat "$1" | "$2" --no-fsync "$3"', "sh", src, aw, dAw], { timeoutMs: 300_000 });
          check("aw-pipe-stream", dAw, size, r.code);
          return r.ms;
        },
      },
      {
        name: "cat-mv-pipe",
        run: () => {
          const r = runSync(["sh", "-c", 'cat "$1" | cat > "$2.tmp" && mv "$2.tmp" "$2"', "sh", src, dCp], { timeoutMs: 300_000 });
          check("cat-mv-pipe", dCp, size, r.code);
          return r.ms;
        },
      },
      {
        name: "cp",
        run: () => {
          const r = runSync(["cp", src, dCp], { timeoutMs: 300_000 });
          check("cp-stream", dCp, size, r.code);
          return r.ms;
        },
      },
    ],
    1,
  );
  const mbs = (ms: number) => mib / 1.048576 / (ms / 1000); // MB/s (10^6 bytes)
  const streamRatio = 1 / ratioOfPairs(tt.get("aw")!, tt.get("cp")!);
  const cmdRatio = 1 / ratioOfPairs(tt.get("aw-cmd")!, tt.get("cp")!);
  const pipeRatio = 1 / ratioOfPairs(tt.get("aw-pipe")!, tt.get("cp")!);
  const pipeVsIdiom = 1 / ratioOfPairs(tt.get("aw-pipe")!, tt.get("cat-mv-pipe")!);

  // --- peak RSS ---
  ctx.log("atomic-write peak RSS");
  const trivial = peakRssKiB([aw, "--no-fsync", join(dir, "tiny")], { stdin: "x" });
  const fromFile = peakRssKiB([aw, "--no-fsync", dAw], { stdin: { file: src }, timeoutMs: 300_000 });
  const fromPipe = runSync(["sh", "-c", 'cat "$1" | /usr/bin/time -f %M -o "$2" "$3" --no-fsync "$4"', "sh", src, join(dir, "rss-pipe"), aw, dAw], { timeoutMs: 300_000 });
  let pipeKiB: number | undefined;
  try {
    pipeKiB = Number((await Bun.file(join(dir, "rss-pipe")).text()).trim().split("\n").pop());
  } catch {
    pipeKiB = undefined;
  }
  if (fromPipe.code !== 0) bad.set("aw-pipe", 1);
  if (fromFile.run.code !== 0 || trivial.run.code !== 0) bad.set("aw-stream", (bad.get("aw-stream") ?? 0) + 1);
  const cpRss = peakRssKiB(["cp", src, dCp], { timeoutMs: 300_000 });
  const mb = (k: number | undefined) => (k === undefined || !Number.isFinite(k) ? "n/a" : (k / 1024).toFixed(1));
  const extra = (k: number | undefined) => (k === undefined || trivial.kib === undefined ? "n/a" : ((k - trivial.kib) / 1024).toFixed(1));
  const streamSection: Section = {
    title: `5b. atomic-write: ${mib} MiB stream vs \`cp\`, and peak memory`,
    method: `${streamRounds} interleaved rounds; source is a ${mib} MiB file on the same file system, given to atomic-write as stdin (read with copy_file_range(2) from stdin's offset), through a pipe (\`cat SRC | atomic-write\`, moved with splice(2); compared with cp and with the idiom \`cat SRC | cat > F.tmp && mv F.tmp F\`), to \`atomic-write -- cat SRC\` (CMD's stdout is a pipe that atomic-write moves into the temp file with splice(2): cat's copy into the pipe remains, where cp copies in the kernel with no pipe) and to cp as an argument; none fsyncs. MB/s = 10^6 bytes/s from the median wall time; ratio = median over rounds of MB/s(atomic-write)/MB/s(cp). Peak RSS from GNU time %M; "extra" = peak minus the trivial call's peak.`,
    headers: ["measure", "atomic-write", "cp", "ratio / extra"],
    rows: [
      ["throughput MB/s, stdin", fmt.mbs(mbs(median(tt.get("aw")!))), fmt.mbs(mbs(median(tt.get("cp")!))), fmt.ratio(streamRatio)],
      ["throughput MB/s, `-- cat SRC`", fmt.mbs(mbs(median(tt.get("aw-cmd")!))), fmt.mbs(mbs(median(tt.get("cp")!))), fmt.ratio(cmdRatio)],
      ["throughput MB/s, `cat SRC |` stdin (a pipe)", fmt.mbs(mbs(median(tt.get("aw-pipe")!))), fmt.mbs(mbs(median(tt.get("cp")!))), fmt.ratio(pipeRatio)],
      [
        "throughput MB/s, `cat SRC |` stdin vs `cat SRC | cat > F.tmp && mv F.tmp F`",
        fmt.mbs(mbs(median(tt.get("aw-pipe")!))),
        `${fmt.mbs(mbs(median(tt.get("cat-mv-pipe")!)))} (idiom)`,
        fmt.ratio(pipeVsIdiom),
      ],
      ["peak RSS MiB, trivial 1-byte call", mb(trivial.kib), "-", "-"],
      [`peak RSS MiB, ${mib} MiB from a file`, mb(fromFile.kib), mb(cpRss.kib), `+${extra(fromFile.kib)} MiB`],
      [`peak RSS MiB, ${mib} MiB through a pipe`, mb(pipeKiB), "-", `+${extra(pipeKiB)} MiB`],
      ["bad runs (exit != 0 or wrong size)", String((bad.get("aw-stream") ?? 0) + (bad.get("aw-pipe") ?? 0) + (bad.get("aw-cmd-stream") ?? 0) + (bad.get("aw-pipe-stream") ?? 0)), String((bad.get("cp-stream") ?? 0) + (bad.get("cat-mv-pipe") ?? 0)), "-"],
    ],
    notes: ["design.md §3: streaming keeps extra resident memory under 64 MiB (stated for 1 GiB)."],
  };
  return [smallSection, streamSection, await appendSection(ctx, dir, aw, mib)];
}

/** 5c: the cost of --append on a big file (the old part is copied into the temp file). */
async function appendSection(ctx: BenchCtx, dir: string, aw: string, mib: number): Promise<Section> {
  const line = "2026-11-23T14:00:00 one more log line\n";
  const big = join(dir, "src.bin"); // the stream source above, reused as the old content
  const fsType = runSync(["stat", "-f", "-c", "%T", dir]).stdout.trim() || "?";
  const contenders = [
    { name: "aw", argv: (f: string) => [aw, "--append", "--no-fsync", f] },
    { name: "cat-mv", argv: (f: string) => ["sh", "-c", 'cat "$1" - > "$1.tmp" && mv "$1.tmp" "$1"', "sh", f] },
    { name: ">>", argv: (f: string) => ["sh", "-c", 'cat >> "$1"', "sh", f] },
    { name: "aw-fsync", argv: (f: string) => [aw, "--append", f] },
    { name: "cat-sync-mv", argv: (f: string) => ["sh", "-c", 'cat "$1" - > "$1.tmp" && sync "$1.tmp" && mv "$1.tmp" "$1" && sync "$(dirname "$1")"', "sh", f] },
  ];
  const bad = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const c of contenders) {
    const f = join(dir, `append-${c.name === ">>" ? "plain" : c.name}.log`);
    runSync(["cp", big, f], { timeoutMs: 300_000 });
    sizes.set(c.name, statSync(f).size);
  }
  const rounds = ctx.rounds;
  ctx.log(`atomic-write --append: one line onto ${mib} MiB, ${rounds} interleaved rounds`);
  const ts = await interleave(
    rounds,
    contenders.map((c) => ({
      name: c.name,
      run: () => {
        const f = join(dir, `append-${c.name === ">>" ? "plain" : c.name}.log`);
        const r = runSync(c.argv(f), { stdin: line, timeoutMs: 300_000 });
        const want = sizes.get(c.name)! + line.length;
        sizes.set(c.name, want);
        let ok = r.code === 0;
        try {
          ok &&= statSync(f).size === want;
        } catch {
          ok = false;
        }
        if (!ok) bad.set(c.name, (bad.get(c.name) ?? 0) + 1);
        return r.ms;
      },
    })),
    1,
  );
  const m = (n: string) => fmt.ms(median(ts.get(n)!));
  const b = (...ns: string[]) => String(ns.reduce((a, n) => a + (bad.get(n) ?? 0), 0));
  const row = (label: string, a: string, idiom: string, i: string) => [label, m(a), idiom, m(i), fmt.ratio(ratioOfPairs(ts.get(a)!, ts.get(i)!)), b(a, i)];
  return {
    title: `5c. atomic-write --append: one line onto a ${mib} MiB file`,
    method: `${rounds} interleaved rounds (1 warm-up dropped) on ${fsType}; each contender appends one ${line.length}-byte line to its own copy of a ${mib} MiB file per round. atomic-write and \`cat F - > F.tmp && mv\` rewrite the whole file (all-or-nothing); \`>>\` only adds the line (a reader or a crash can see a partial line). atomic-write copies the old part with FICLONE (reflink: btrfs, xfs) or copy_file_range(2) (in-kernel copy) where the file system allows, else through its read/write loop. Ratio = median over rounds of the per-round ratio.`,
    headers: ["call", "median ms", "compared with", "median ms", "ratio", "bad"],
    rows: [
      row("`atomic-write --append --no-fsync F`", "aw", "`cat F - > F.tmp && mv F.tmp F`", "cat-mv"),
      row("`atomic-write --append --no-fsync F`", "aw", "`cat >> F` (not atomic)", ">>"),
      row("`atomic-write --append F` (fsync)", "aw-fsync", "`cat F - > F.tmp && sync F.tmp && mv F.tmp F && sync DIR`", "cat-sync-mv"),
    ],
    notes: [`file system: ${fsType} (as stat -f names it); on a reflink file system (btrfs, xfs) the copy is O(extents), not O(bytes): run with TMPDIR on one to see it.`],
  };
}
