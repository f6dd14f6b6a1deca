#!/usr/bin/env node
// Regenerates convex/_generated offline. `convex codegen` types the app's `components` only after
// pushing to a deployment, which these machines (and CI) cannot reach, so its offline mode
// (--system-udfs) is run and the `components` export is added exactly as `npx convex dev` writes
// it for installed components: each one's own ComponentApi type, named as in convex.config.ts.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const generated = join(root, "convex", "_generated");
execFileSync(join(root, "node_modules", ".bin", "convex"), ["codegen", "--system-udfs", "--typecheck", "disable"], {
  cwd: root,
  stdio: "inherit",
});

// name in convex.config.ts → the package whose component it is.
const config = readFileSync(join(root, "convex", "convex.config.ts"), "utf8");
const imports = new Map([...config.matchAll(/^import (\w+) from "([^"]+)\/convex\.config";$/gm)].map((m) => [m[1], m[2]]));
const uses = [...config.matchAll(/app\.use\((\w+), \{ name: "(\w+)" \}\)/g)].map((m) => ({ name: m[2], from: imports.get(m[1]) }));
if (uses.length === 0 || uses.some((use) => use.from === undefined)) throw new Error("codegen: cannot read the components of convex.config.ts");

const js = join(generated, "api.js");
writeFileSync(
  js,
  readFileSync(js, "utf8")
    .replace('import { anyApi } from "convex/server";', 'import { anyApi, componentsGeneric } from "convex/server";')
    .concat("export const components = componentsGeneric();\n"),
);
const dts = join(generated, "api.d.ts");
const lines = uses.map((use) => `  ${use.name}: import("${use.from}/_generated/component.js").ComponentApi<"${use.name}">;`);
writeFileSync(dts, readFileSync(dts, "utf8").concat(`\nexport declare const components: {\n${lines.join("\n")}\n};\n`));
