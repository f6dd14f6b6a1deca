#!/usr/bin/env node
// Checks the code in README.md against the BUILT package (dist/, so build first:
// node scripts/build.mjs --skip-wasm).
//
// - Every ```ts / ```typescript block is type-checked with tsc: strict, exactOptionalPropertyTypes,
//   noUncheckedIndexedAccess, module esnext + moduleResolution bundler (what Convex's esbuild
//   does), @types/node. All blocks compile together as one project, as a user's project would: the
//   README's `declare global { interface UserPublicMetadata … }` block applies to every sample.
//   `clerk-metadata-wasm` (and `/testing`) resolve through a node_modules symlink to this repo, so
//   through package.json's exports to dist/*.d.ts. Convex's modules (`convex/values`,
//   `./_generated/server`, `./_generated/api`) are minimal stubs written here.
//   A block whose first line is a path comment (`// convex/users.ts`) is written at that path, so
//   relative imports between blocks (`./utils/clerk`) resolve; other blocks are modules of their own.
// - Every ```js / ```javascript block is syntax-checked with `node --check` as an .mjs file.
// - A block fenced ```ts skip-check, or preceded by <!-- check-readme: skip -->, is skipped.
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(join(root, "dist/index.d.ts"))) {
  console.error("check-readme: dist/index.d.ts is missing; build first (node scripts/build.mjs --skip-wasm)");
  process.exit(1);
}
const readme = readFileSync(join(root, "README.md"), "utf8");
const lines = readme.split("\n");

/** @type {{ lang: string, info: string, line: number, code: string, skip: boolean }[]} */
const blocks = [];
for (let i = 0; i < lines.length; i++) {
  const open = /^```(\S*)(.*)$/.exec(lines[i]);
  if (!open) continue;
  const start = i;
  const body = [];
  for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
  const prev = lines.slice(Math.max(0, start - 2), start).join("\n");
  blocks.push({
    lang: open[1].toLowerCase(),
    info: open[2].trim(),
    line: start + 1,
    code: body.join("\n") + "\n",
    skip: /\bskip-check\b/.test(open[2]) || /<!--\s*check-readme:\s*skip\s*-->/.test(prev),
  });
}

const tsBlocks = blocks.filter((b) => (b.lang === "ts" || b.lang === "typescript") && !b.skip);
const jsBlocks = blocks.filter((b) => (b.lang === "js" || b.lang === "javascript") && !b.skip);
const skipped = blocks.filter((b) => b.skip && ["ts", "typescript", "js", "javascript"].includes(b.lang));

const dir = mkdtempSync(join(tmpdir(), "check-readme-"));
let failed = false;
try {
  mkdirSync(join(dir, "node_modules/@types"), { recursive: true });
  symlinkSync(root, join(dir, "node_modules/clerk-metadata-wasm"), "dir");
  symlinkSync(join(root, "node_modules/@types/node"), join(dir, "node_modules/@types/node"), "dir");

  // Convex stubs: only what the README uses, typed closely enough that args are inferred.
  const convexStub = `
declare module "convex/values" {
  export interface Validator<T> { readonly __type: T }
  export type Infer<V> = V extends Validator<infer T> ? T : never;
  export const v: {
    string(): Validator<string>;
    number(): Validator<number>;
    boolean(): Validator<boolean>;
    any(): Validator<any>;
    literal<T extends string | number | boolean>(value: T): Validator<T>;
    union<T extends Validator<any>[]>(...members: T): Validator<Infer<T[number]>>;
    array<T>(item: Validator<T>): Validator<T[]>;
    optional<T>(inner: Validator<T>): Validator<T | undefined>;
  };
}
`;
  writeFileSync(join(dir, "convex-stubs.d.ts"), convexStub);
  mkdirSync(join(dir, "convex/_generated"), { recursive: true });
  writeFileSync(
    join(dir, "convex/_generated/server.ts"),
    `import type { Validator } from "convex/values";
type Args<A> = { [K in keyof A]: A[K] extends Validator<infer T> ? T : never };
export interface ActionCtx {
  runQuery(ref: unknown, args?: Record<string, unknown>): Promise<any>;
  runMutation(ref: unknown, args?: Record<string, unknown>): Promise<any>;
}
export interface MutationCtx { db: any }
export interface QueryCtx { db: any }
type Def<C, A, R> = { args: A; handler: (ctx: C, args: Args<A>) => R };
export declare function action<A, R>(def: Def<ActionCtx, A, R>): unknown;
export declare function internalAction<A, R>(def: Def<ActionCtx, A, R>): unknown;
export declare function mutation<A, R>(def: Def<MutationCtx, A, R>): unknown;
export declare function internalMutation<A, R>(def: Def<MutationCtx, A, R>): unknown;
export declare function query<A, R>(def: Def<QueryCtx, A, R>): unknown;
export declare function internalQuery<A, R>(def: Def<QueryCtx, A, R>): unknown;
`,
  );
  writeFileSync(join(dir, "convex/_generated/api.ts"), "export declare const api: any;\nexport declare const internal: any;\n");

  const files = ["convex-stubs.d.ts"];
  const where = new Map();
  tsBlocks.forEach((b, n) => {
    const named = /^\/\/\s*([\w./-]+\.(?:d\.)?m?ts)\s*$/.exec(b.code.split("\n")[0] ?? "");
    let path = named ? named[1] : `block-${String(n + 1).padStart(2, "0")}-line-${b.line}.ts`;
    if (files.includes(path)) path = path.replace(/\.ts$/, `-line-${b.line}.ts`);
    // A block with no import or export would be a script sharing one global scope: make it a module.
    const code = /^\s*(import|export)\b/m.test(b.code) ? b.code : b.code + "export {};\n";
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), code);
    files.push(path);
    where.set(path, b.line);
  });
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          module: "ESNext",
          moduleResolution: "Bundler",
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          preserveSymlinks: false,
        },
        files,
      },
      null,
      2,
    ),
  );
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json"), "--pretty", "false"], { cwd: dir, encoding: "utf8" });
    console.log(`check-readme: ${tsBlocks.length} TypeScript blocks type-check (strict, exactOptionalPropertyTypes, against dist/)`);
  } catch (e) {
    failed = true;
    const out = String(e.stdout ?? "") + String(e.stderr ?? "");
    // Point each error at the README line of its block.
    for (const line of out.split("\n").filter(Boolean)) {
      const m = /^(.+?)\((\d+),(\d+)\)/.exec(line);
      const file = m?.[1]?.replace(/\\/g, "/");
      const block = file && [...where.keys()].find((p) => file.endsWith(p));
      if (block && m) console.error(`README.md:${where.get(block) + Number(m[2])}: ${line}`);
      else console.error(line);
    }
    console.error("check-readme: a TypeScript block in README.md does not type-check");
  }

  jsBlocks.forEach((b, n) => {
    const file = join(dir, `js-block-${n + 1}.mjs`);
    writeFileSync(file, b.code);
    try {
      execFileSync(process.execPath, ["--check", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      failed = true;
      console.error(`README.md:${b.line}: the JavaScript block does not parse\n${e.stderr}`);
    }
  });
  if (jsBlocks.length) console.log(`check-readme: ${jsBlocks.length} JavaScript blocks parse (node --check)`);
  if (skipped.length) console.log(`check-readme: skipped (marked skip-check): README.md lines ${skipped.map((b) => b.line).join(", ")}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
