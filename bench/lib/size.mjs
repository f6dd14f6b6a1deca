// Sizes: the .wasm (raw, gzip -9), the root package (npm pack --dry-run), @clerk/backend with its
// installed dependency tree (npm pack --dry-run of each installed package folder, offline, plus
// the apparent size of the files on disk), and a minimal app bundle of each (esbuild, minified).
import { execFileSync } from "node:child_process";
import { gzipSync, constants } from "node:zlib";
import { readFileSync, readdirSync, lstatSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";

const gzip9 = (buf) => gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;

function npmPackDry(cwd, specs = []) {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", ...specs], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out);
}

/** Sum of apparent file sizes under dir (symlinks not followed). */
function treeBytes(dir, skip = () => false) {
  let total = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (skip(p, entry)) continue;
    if (entry.isDirectory()) {
      const t = treeBytes(p, skip);
      total += t.bytes;
      files += t.files;
    } else if (entry.isFile()) {
      total += lstatSync(p).size;
      files++;
    }
  }
  return { bytes: total, files };
}

async function appBundle(bench, root, name, source) {
  const { build } = await import(pathToFileURL(join(root, "node_modules", "esbuild", "lib", "main.js")).href);
  const dir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  try {
    const entry = join(dir, `${name}.mjs`);
    writeFileSync(entry, source);
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      absWorkingDir: bench,
      nodePaths: [join(bench, "node_modules")],
      logLevel: "silent",
      legalComments: "none",
    });
    const text = result.outputFiles[0].contents;
    return { bytes: text.length, gzip: gzip9(text) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureSizes({ root, bench, packEachDep = true, wasm, indexPath = join(root, "dist", "index.mjs") }) {
  wasm ??= readFileSync(join(root, "pkg", "clerk_metadata_wasm_bg.wasm"));
  const indexMjs = readFileSync(indexPath);
  const [pack] = npmPackDry(root);

  // @clerk/backend's installed tree: every package the bench lockfile installed (it is the only
  // direct dependency, so the tree is exactly @clerk/backend plus its dependencies).
  const lock = JSON.parse(readFileSync(join(bench, "package-lock.json"), "utf8"));
  const dirs = Object.keys(lock.packages).filter((k) => k.startsWith("node_modules/"));
  const disk = treeBytes(join(bench, "node_modules"), (p) => p.endsWith("/.package-lock.json") || p.endsWith("/.bin"));
  // npm pack of each installed folder gives each package's published tarball and unpacked size;
  // --quick skips it (its unpacked sum equals the on-disk sum, which is used instead).
  const perPackage = packEachDep
    ? npmPackDry(bench, dirs.map((d) => `./${d}`)).map((p) => ({ name: p.name, version: p.version, size: p.size, unpackedSize: p.unpackedSize, files: p.entryCount }))
    : dirs.map((d) => {
        const meta = JSON.parse(readFileSync(join(bench, d, "package.json"), "utf8"));
        const t = treeBytes(join(bench, d), (p, e) => e.isDirectory() && e.name === "node_modules");
        return { name: meta.name, version: meta.version, size: NaN, unpackedSize: t.bytes, files: t.files };
      });

  const ourBundle = await appBundle(
    bench,
    root,
    "ours",
    `import { createClerkMetadataClient } from ${JSON.stringify(indexPath)};\n` +
      `const c = createClerkMetadataClient({ rateLimit: false });\nexport const get = (id) => c.getUserPublicMetadata(id);\n` +
      `export const merge = (id, m) => c.mergeUserPublicMetadata(id, m);\n`,
  );
  const clerkBundle = await appBundle(
    bench,
    root,
    "clerk",
    `import { createClerkClient } from "@clerk/backend";\nconst c = createClerkClient({ secretKey: process.env.CLERK_SECRET_KEY });\n` +
      `export const get = async (id) => (await c.users.getUser(id)).publicMetadata;\n` +
      `export const merge = (id, m) => c.users.updateUserMetadata(id, { publicMetadata: m });\n`,
  );
  return {
    wasm: { raw: wasm.length, gzip: gzip9(wasm) },
    indexMjs: { raw: indexMjs.length, gzip: gzip9(indexMjs) },
    pack: {
      name: pack.name,
      version: pack.version,
      size: pack.size,
      unpackedSize: pack.unpackedSize,
      files: pack.files.map((f) => ({ path: f.path, size: f.size })),
    },
    clerk: {
      packages: perPackage,
      packed: packEachDep,
      packSize: perPackage.reduce((a, p) => a + p.size, 0),
      unpackedSize: perPackage.reduce((a, p) => a + p.unpackedSize, 0),
      disk,
    },
    bundles: { ours: ourBundle, clerk: clerkBundle },
  };
}
