/**
 * npm run release: cross-compile the multi-call binary for every supported
 * target and pack what users install (docs/design.md §8):
 *
 *   release/hardshell-<version>-<target>.tar.gz   one per target, each holding
 *     hardshell-<version>-<target>/bin/hardshell (+ command symlinks),
 *     share/man/man1/*.1, share/bash-completion/completions/<command>,
 *     share/hardshell/hardshell.sh, README.md (+ the SECURITY.md and docs/ it links), LICENSE, install.sh
 *   release/SHA256SUMS                            `sha256sum -c` format
 *   release/npm/*.tgz                             `hardshell` (launchers, man pages,
 *     hardshell.sh) + one `@hardshell/<target>` per target (the binary), no install scripts
 *
 * The man pages and completions come from the host binary (`COMMAND --man`,
 * `COMMAND --completion`), i.e. from the same option tables as --help; they are
 * text, the same for every target. `bun build --compile --target=...` fetches
 * each target's runtime from the npm registry once (cached afterwards).
 *
 * Usage: bun scripts/release.ts [--only TARGET,...] [--no-npm]
 */
import { mkdirSync, rmSync, writeFileSync, copyFileSync, chmodSync, readdirSync, existsSync, createReadStream } from "node:fs";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";
import { compileBinary, compileProfiled, linkCommands, COMMANDS, ROOT } from "./build";
import pkg from "../package.json" with { type: "json" };

interface Target {
  name: string;
  bun: string;
  os: string;
  cpu: string;
  libc?: string;
}
export const TARGETS: Target[] = [
  { name: "linux-x64", bun: "bun-linux-x64", os: "linux", cpu: "x64", libc: "glibc" },
  { name: "linux-x64-musl", bun: "bun-linux-x64-musl", os: "linux", cpu: "x64", libc: "musl" },
  { name: "linux-arm64", bun: "bun-linux-arm64", os: "linux", cpu: "arm64", libc: "glibc" },
  { name: "darwin-x64", bun: "bun-darwin-x64", os: "darwin", cpu: "x64" },
  { name: "darwin-arm64", bun: "bun-darwin-arm64", os: "darwin", cpu: "arm64" },
];

const version = pkg.version;
const release = join(ROOT, "release");
const stage = join(release, ".stage");
const args = process.argv.slice(2);
const onlyAt = args.indexOf("--only");
const only = onlyAt === -1 ? undefined : (args[onlyAt + 1] ?? "").split(",");
const targets = only ? TARGETS.filter((t) => only.includes(t.name)) : TARGETS;
if (only && targets.length !== only.length) {
  process.stderr.write(`release: unknown target in --only ${only.join(",")} (known: ${TARGETS.map((t) => t.name).join(", ")})\n`);
  process.exit(64);
}
const withNpm = !args.includes("--no-npm");

function run(cmd: string[], cwd = ROOT): string {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}${r.stdout.toString()}`);
  return r.stdout.toString();
}

async function sha256(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

function log(s: string): void {
  process.stdout.write(`release: ${s}\n`);
}

const t0 = performance.now();
rmSync(release, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

// 1. The host binary, to generate the text files every archive shares.
const host = join(ROOT, "dist");
mkdirSync(host, { recursive: true });
// Its bytecode-order profiles (scripts/build.ts) lay out every target's binary too.
const hostBuild = await compileProfiled(join(host, "hardshell"));
process.on("exit", hostBuild.cleanup);
if (!hostBuild.ok) throw new Error(`host build failed:\n${hostBuild.log}`);
linkCommands(host);
const shared = join(stage, "shared");
mkdirSync(join(shared, "share/man/man1"), { recursive: true });
mkdirSync(join(shared, "share/bash-completion/completions"), { recursive: true });
mkdirSync(join(shared, "share/hardshell"), { recursive: true });
writeFileSync(join(shared, "share/man/man1/hardshell.1"), run([join(host, "hardshell"), "--man"]));
for (const c of COMMANDS) {
  writeFileSync(join(shared, `share/man/man1/${c}.1`), run([join(host, c), "--man"]));
  writeFileSync(join(shared, `share/bash-completion/completions/${c}`), run([join(host, c), "--completion"]));
}
copyFileSync(join(ROOT, "lib/hardshell.sh"), join(shared, "share/hardshell/hardshell.sh"));

function copyTree(from: string, to: string): void {
  run(["cp", "-R", `${from}/.`, to]);
}

// 2. One archive per target.
const epoch = (process.env.SOURCE_DATE_EPOCH ?? run(["git", "log", "-1", "--format=%ct"]).trim()) || "0";
async function buildTarget(t: Target): Promise<string> {
  const dirName = `hardshell-${version}-${t.name}`;
  const dir = join(stage, dirName);
  mkdirSync(join(dir, "bin"), { recursive: true });
  const r = await compileBinary(join(dir, "bin/hardshell"), t.bun, hostBuild.order);
  if (!r.ok) throw new Error(`compile for ${t.name} failed:\n${r.log}`);
  linkCommands(join(dir, "bin"));
  copyTree(shared, dir);
  // README's relative links (SECURITY.md, docs/*.md) must resolve inside the unpacked archive too.
  for (const f of ["README.md", "LICENSE", "SECURITY.md", "docs/design.md", "docs/recipes.md", "docs/BENCHMARKS.md"]) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  copyFileSync(join(ROOT, "scripts/pkg/install.sh"), join(dir, "install.sh"));
  chmodSync(join(dir, "install.sh"), 0o755);
  const archive = `${dirName}.tar.gz`;
  run(["sh", "-c", `tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@${epoch} -C "$1" -cf - "$2" | gzip -n -6 > "$3"`, "_", stage, dirName, join(release, archive)]);
  log(`${archive}`);
  return archive;
}
// Two at a time: compiling is mostly I/O, gzip one core each.
const archives: string[] = [];
for (let i = 0; i < targets.length; i += 2) archives.push(...(await Promise.all(targets.slice(i, i + 2).map(buildTarget))));
const sums = await Promise.all(archives.map(async (a) => `${await sha256(join(release, a))}  ${a}\n`));
writeFileSync(join(release, "SHA256SUMS"), sums.join(""));
log("SHA256SUMS");

// 3. npm packages: the binary per platform, and the main package of launchers.
if (withNpm) {
  const npmOut = join(release, "npm");
  mkdirSync(npmOut, { recursive: true });
  const npmStage = join(stage, "npm");
  const repository = { type: "git", url: "https://example.invalid/hardshell.git" };
  for (const t of targets) {
    const d = join(npmStage, t.name);
    mkdirSync(join(d, "bin"), { recursive: true });
    copyFileSync(join(stage, `hardshell-${version}-${t.name}`, "bin/hardshell"), join(d, "bin/hardshell"));
    chmodSync(join(d, "bin/hardshell"), 0o755);
    const meta: Record<string, unknown> = {
      name: `@hardshell/${t.name}`,
      version,
      description: `The hardshell binary for ${t.name} (installed by the hardshell package)`,
      license: pkg.license,
      repository,
      os: [t.os],
      cpu: [t.cpu],
      files: ["bin/hardshell"],
      preferUnplugged: true,
    };
    if (t.libc) meta.libc = [t.libc];
    writeFileSync(join(d, "package.json"), `${JSON.stringify(meta, null, 2)}\n`);
    writeFileSync(join(d, "README.md"), `# @hardshell/${t.name}\n\nThe ${t.name} binary of [hardshell](https://www.npmjs.com/package/hardshell). Install \`hardshell\`, not this.\n`);
    copyFileSync(join(ROOT, "LICENSE"), join(d, "LICENSE"));
    run(["npm", "pack", "--silent", "--pack-destination", npmOut], d);
  }
  const m = join(npmStage, "hardshell");
  mkdirSync(join(m, "bin"), { recursive: true });
  copyTree(shared, m);
  for (const c of ["hardshell", ...COMMANDS]) {
    copyFileSync(join(ROOT, "scripts/pkg/npm-launcher.sh"), join(m, "bin", c));
    chmodSync(join(m, "bin", c), 0o755);
  }
  for (const f of ["README.md", "LICENSE"]) copyFileSync(join(ROOT, f), join(m, f));
  const main = {
    name: "hardshell",
    version,
    description: pkg.description,
    license: pkg.license,
    repository,
    bin: Object.fromEntries(["hardshell", ...COMMANDS].map((c) => [c, `bin/${c}`])),
    man: ["hardshell", ...COMMANDS].map((c) => `share/man/man1/${c}.1`),
    files: ["bin/", "share/"],
    os: ["linux", "darwin"],
    optionalDependencies: Object.fromEntries(TARGETS.map((t) => [`@hardshell/${t.name}`, version])),
  };
  writeFileSync(join(m, "package.json"), `${JSON.stringify(main, null, 2)}\n`);
  run(["npm", "pack", "--silent", "--pack-destination", npmOut], m);
  log(`npm/: ${readdirSync(npmOut).sort().join(" ")}`);
}

if (existsSync(stage)) rmSync(stage, { recursive: true, force: true });
log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
