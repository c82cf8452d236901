/**
 * Torture: atomic-write replaced and edited under readers while writers are killed.
 *
 * Proves design.md §3 "a reader sees FILE whole-old or whole-new, never partial, never missing",
 * "on any failure FILE is untouched", "N concurrent --edit writers never lose an update" and
 * "a later run removes the debris of a SIGKILL", with real processes only:
 * - 3 writer slots replace `data` (a header `sha256 length id` + a random binary body with NUL
 *   bytes) from stdin in chunks (a kill can land mid-stream), from `-- cat FILE`, with a
 *   failing `-- CMD` (exit 3), a wrong `--if-unchanged` hash (exit 1) and `--no-empty` on
 *   empty input (exit 1); some with --lock, some with --no-fsync;
 * - 3 incrementer slots run `atomic-write --edit counter -- awk ...`, which adds 1 to the first
 *   line and appends the job id: the file carries the list of increments that made it;
 * - random SIGKILL / SIGTERM of writers and incrementers at random moments;
 * - 2 python3 reader processes read both files in a loop and checksum every read.
 * After the time is up, one more (locked) write of each file is "the next run".
 *
 * Invariants: no torn read, no missing read; no content from a cleanly failed write ever seen;
 * counter = number of ids listed; every acknowledged increment listed exactly once, no cleanly
 * failed one listed, killed ones at most once (so counter = acknowledged + killed-that-committed);
 * expected exit codes for the deliberate failures; no debris (temp files, locks) after the next run.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { python3 } from "../bench/_lib";
import { settle, type Attempt, check, parseOpts, report, slots, spawnOutcome, type ScenarioOpts, type ScenarioResult, startScenario } from "./_lib";

const READER = `
import hashlib, sys, time, os, json
F, C, stop, limit = sys.argv[1], sys.argv[2], sys.argv[3], time.time() + float(sys.argv[4])
reads = torn = missing = 0
ids = set()
samples = []
while time.time() < limit and not os.path.exists(stop):
    time.sleep(0.0005)  # leave CPU to the writers on small machines
    for path, kind in ((F, "f"), (C, "c")):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            missing += 1
            continue
        reads += 1
        ok = False
        if kind == "f":
            nl = data.find(b"\\n")
            if nl > 0:
                head = data[:nl].split(b" ")
                body = data[nl + 1:]
                if len(head) == 3 and head[1].isdigit():
                    ok = len(body) == int(head[1]) and hashlib.sha256(body).hexdigest().encode() == head[0]
                    if ok:
                        ids.add(head[2].decode())
        else:
            lines = data.split(b"\\n")
            ok = len(lines) >= 2 and lines[-1] == b"" and lines[0].isdigit() and int(lines[0]) == len(lines) - 2
        if not ok:
            torn += 1
            if len(samples) < 3:
                samples.append(kind + ":" + repr(data[:60]) + "... len " + str(len(data)))
print(json.dumps({"reads": reads, "torn": torn, "missing": missing, "ids": sorted(ids), "samples": samples}))
`;

const AWK_INC = 'NR == 1 { print $1 + 1; next } { print } END { print id }';

interface Write extends Attempt {
  id: string;
  kind: string;
  expect: number; // exit code when not killed
  /** Takes FILE.lock (--lock, --if-unchanged, --edit): exit 75 (lock timeout) is then a legitimate clean failure. */
  locks?: boolean;
}

export async function run(opts: ScenarioOpts): Promise<ScenarioResult> {
  const scenario = startScenario("atomic-write", "atomic-write", "atomic", opts);
  if (!("exe" in scenario)) return scenario;
  const { exe: aw, checks, rng, root } = scenario;
  const dir = join(root, "files"); // holds ONLY the two files under test: anything else is debris
  const side = join(root, "side"); // payloads for `-- cat FILE`, the readers' stop file
  mkdirSync(dir);
  mkdirSync(side);
  const F = join(dir, "data");
  const C = join(dir, "counter");
  const pool = rng.bytes(1 << 20);
  const payload = (id: string) => {
    const len = rng.int(0, 200_000);
    const off = rng.int(0, pool.length - len);
    const body = pool.subarray(off, off + len);
    const head = new TextEncoder().encode(`${createHash("sha256").update(body).digest("hex")} ${len} ${id}\n`);
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  };
  writeFileSync(F, payload("init"));
  writeFileSync(C, "0\n");

  const stop = join(side, "stop");
  const py = python3();
  const readers = [0, 1].map(() =>
    Bun.spawn([py, "-S", "-c", READER, F, C, stop, String(opts.seconds + 120)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }),
  );

  const writes: Write[] = [];
  const incs: Write[] = [];
  let seq = 0;
  const kills = { SIGKILL: 0, SIGTERM: 0 };
  const killPlan = (p: number, killProb: number) => {
    if (!rng.chance(p)) return undefined;
    const signal = rng.chance(killProb) ? ("SIGKILL" as const) : ("SIGTERM" as const);
    kills[signal]++;
    return { afterMs: rng.int(0, 60), signal };
  };
  const deadline = performance.now() + opts.seconds * 1000;

  const writer = async () => {
    const id = `w${seq++}`;
    const r = rng.next();
    const flags = [...(rng.chance(0.3) ? ["--lock"] : []), ...(rng.chance(0.5) ? ["--no-fsync"] : [])];
    let w: Write;
    let argv: string[];
    let chunks: Uint8Array[] | undefined;
    if (r < 0.5) {
      w = { id, kind: "stdin", expect: 0 };
      const data = payload(id);
      const cut1 = rng.int(0, data.length);
      const cut2 = rng.int(cut1, data.length);
      chunks = [data.subarray(0, cut1), data.subarray(cut1, cut2), data.subarray(cut2)];
      argv = [aw, ...flags, F];
    } else if (r < 0.75) {
      w = { id, kind: "cmd", expect: 0 };
      const p = join(side, `payload-${id}`);
      writeFileSync(p, payload(id));
      argv = [aw, ...flags, F, "--", "cat", p];
    } else if (r < 0.87) {
      w = { id, kind: "cmd-fails", expect: 3 };
      const p = join(side, `payload-${id}`);
      writeFileSync(p, payload(id));
      argv = [aw, ...flags, F, "--", "sh", "-c", 'cat "$1"; exit 3', "sh", p];
    } else if (r < 0.95) {
      w = { id, kind: "if-unchanged-wrong", expect: 1 };
      chunks = [payload(id)];
      argv = [aw, ...flags, "--if-unchanged", "0".repeat(64), F];
    } else {
      w = { id, kind: "no-empty", expect: 1 };
      chunks = [new Uint8Array(0)];
      argv = [aw, ...flags, "--no-empty", F];
    }
    w.locks = argv.includes("--lock") || argv.includes("--if-unchanged");
    writes.push(w);
    const o = await spawnOutcome(argv, { stdinChunks: chunks, gapMs: chunks ? rng.int(0, 3) : 0, kill: killPlan(0.2, 0.6), timeoutMs: 90_000 });
    settle(w, o);
    rmSync(join(side, `payload-${id}`), { force: true });
  };

  const incrementer = async () => {
    const id = `i${seq++}`;
    const w: Write = { id, kind: "edit", expect: 0, locks: true };
    incs.push(w);
    const argv = [aw, ...(rng.chance(0.5) ? ["--no-fsync"] : []), "--edit", C, "--", "awk", "-v", `id=${id}`, AWK_INC];
    // fewer SIGKILLs here: each one leaves counter.lock behind, which waiters take over only once it is stale (10 s)
    const o = await spawnOutcome(argv, { kill: killPlan(0.15, 0.25), timeoutMs: 90_000 });
    settle(w, o);
  };

  await slots(6, deadline, (slot) => (slot < 3 ? writer() : incrementer()));
  opts.log(`atomic-write: ${writes.length} writes, ${incs.length} increments; the next run`);

  // "The next run": one more locked write of each file; it must clean up what the killed ones left.
  const last: Write = { id: "final", kind: "final", expect: 0 };
  writes.push(last);
  // --lock-timeout 75s: a lock left by a SIGKILL between mkdir and its owner record has no
  // readable owner and is only taken over once 60 s old (lib/core/dirlock.ts "unknown").
  const lo = await spawnOutcome([aw, "--lock", "--lock-timeout", "75s", F], { stdinChunks: [payload("final")], timeoutMs: 120_000 });
  settle(last, lo, true);
  const lastInc: Write = { id: "ifinal", kind: "edit-final", expect: 0 };
  incs.push(lastInc);
  const li = await spawnOutcome([aw, "--edit", "--lock-timeout", "75s", C, "--", "awk", "-v", "id=ifinal", AWK_INC], { timeoutMs: 120_000 });
  settle(lastInc, li, true);

  writeFileSync(stop, "");
  const reports = await Promise.all(
    readers.map(async (p) => {
      const out = await new Response(p.stdout).text();
      await p.exited;
      try {
        return JSON.parse(out) as { reads: number; torn: number; missing: number; ids: string[]; samples: string[] };
      } catch {
        return { reads: 0, torn: 0, missing: 0, ids: [], samples: [`reader output unreadable: ${out.slice(0, 80)}`] };
      }
    }),
  );
  const reads = reports.reduce((a, r) => a + r.reads, 0);
  const torn = reports.reduce((a, r) => a + r.torn, 0);
  const missing = reports.reduce((a, r) => a + r.missing, 0);
  const seen = new Set(reports.flatMap((r) => r.ids));

  const finalData = readFileSync(F);
  const nl = finalData.indexOf(10);
  const [hash, len, finalId] = finalData.subarray(0, nl).toString().split(" ");
  const body = finalData.subarray(nl + 1);
  const finalWhole = body.length === Number(len) && createHash("sha256").update(body).digest("hex") === hash;
  if (finalWhole) seen.add(finalId!);

  const byId = new Map(writes.map((w) => [w.id, w]));
  const failedSeen = [...seen].filter((id) => id !== "init" && byId.get(id)?.outcome === "failed");
  const unknownSeen = [...seen].filter((id) => id !== "init" && !byId.has(id));
  const lockTimeouts = [...writes, ...incs].filter((w) => w.outcome !== "killed" && w.locks && w.code === 75 && w.code !== w.expect);
  const wrongCode = [...writes, ...incs].filter((w) => w.outcome !== "killed" && w.code !== w.expect && !lockTimeouts.includes(w));

  const counterText = readFileSync(C, "utf8");
  const lines = counterText.split("\n");
  const n = Number(lines[0]);
  const listed = lines.slice(1, -1);
  const counts = new Map<string, number>();
  for (const id of listed) counts.set(id, (counts.get(id) ?? 0) + 1);
  const incById = new Map(incs.map((w) => [w.id, w]));
  const ackInc = incs.filter((w) => w.outcome === "ack");
  const ackMissing = ackInc.filter((w) => counts.get(w.id) !== 1).map((w) => w.id);
  const failedListed = incs.filter((w) => w.outcome === "failed" && counts.has(w.id)).map((w) => w.id);
  const killedTwice = incs.filter((w) => w.outcome === "killed" && (counts.get(w.id) ?? 0) > 1).map((w) => w.id);
  const killedCommitted = incs.filter((w) => w.outcome === "killed" && counts.get(w.id) === 1).length;
  const unknownListed = listed.filter((id) => !incById.has(id));

  const debris = readdirSync(dir).filter((e) => e !== "data" && e !== "counter");
  const sample = (xs: string[]) => (xs.length ? ` e.g. ${xs.slice(0, 3).join(", ")}` : "");
  const tally = (ws: Write[]) => `${ws.filter((w) => w.outcome === "ack").length}/${ws.filter((w) => w.outcome === "failed").length}/${ws.filter((w) => w.outcome === "killed").length}`;

  check(checks, "no torn read", torn === 0 && reads > 0, `${reads} reads by 2 python3 readers, ${torn} torn${reports.flatMap((r) => r.samples).length ? ": " + reports.flatMap((r) => r.samples).slice(0, 2).join(" | ") : ""}`);
  check(checks, "no missing read", missing === 0, `${missing} reads found no file`);
  check(checks, "no content of a cleanly failed write ever seen", failedSeen.length === 0 && unknownSeen.length === 0, `${seen.size} distinct versions seen, ${failedSeen.length} from failed writes${sample(failedSeen)}, ${unknownSeen.length} unknown`);
  check(checks, "final file whole and from the last write", finalWhole && finalId === "final" && last.outcome === "ack", `final write exit ${last.code}${last.code ? " " + last.stderr : ""}, file id ${finalId}`);
  check(checks, "deliberate failures give their exit codes", wrongCode.length === 0, `${wrongCode.length} unexpected exit codes${sample(wrongCode.map((w) => `${w.id} ${w.kind} exit ${w.code} (${w.stderr})`))}; ${lockTimeouts.length} lock waits ran out (exit 75, a clean failure)${sample(lockTimeouts.slice(0, 1).map((w) => w.stderr ?? ""))}`);
  check(checks, "counter = number of increments listed (no torn edit)", n === listed.length, `counter ${n}, ids listed ${listed.length}`);
  check(
    checks,
    "counter = acknowledged + killed-that-committed; acked once, failed never, killed at most once",
    ackMissing.length === 0 && failedListed.length === 0 && killedTwice.length === 0 && unknownListed.length === 0 && n === ackInc.length + killedCommitted,
    `counter ${n} = ${ackInc.length} acknowledged + ${killedCommitted} killed after commit; ${ackMissing.length} acked not listed once${sample(ackMissing)}, ${failedListed.length} failed listed, ${killedTwice.length} killed twice, ${unknownListed.length} unknown`,
  );
  check(checks, "no debris after the next run", debris.length === 0, debris.length ? `left: ${debris.slice(0, 5).join(", ")}` : "only data and counter remain");

  rmSync(root, { recursive: true, force: true });
  return {
    name: "atomic-write",
    checks,
    summary: `seed ${opts.seed}, ${opts.seconds}s, ${writes.length} replacements (ack/failed/killed ${tally(writes)}), ${incs.length} --edit increments (${tally(incs)}), ${kills.SIGKILL} SIGKILL + ${kills.SIGTERM} SIGTERM sent`,
  };
}

if (import.meta.main) {
  const opts = parseOpts(process.argv.slice(2), { seconds: 60 });
  const r = report(await run(opts));
  process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
  process.exit(r.failed ? 1 : 0);
}
