// Where the .wasm's code bytes go, by crate and by function. The shipped module has no names, so
// the same build's pre-wasm-bindgen module (target/wasm32-unknown-unknown/release/*.wasm, which
// keeps its name section) is re-optimised here with binaryen.js at -Os (what wasm-pack's wasm-opt
// step does) after dropping the wasm-bindgen descriptor exports (what wasm-bindgen removes), with
// names kept; its code section lands within a few % of the shipped one, so the split is
// representative. Read-only: nothing is written outside memory. Prints one JSON line.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { codeByCrate, sections } from "./lib/wasm-anatomy.mjs";

const { root, prePath } = JSON.parse(process.env.BENCH_ANATOMY);
const { default: binaryen } = await import(pathToFileURL(join(root, "node_modules", "binaryen", "index.js")).href);
const bytes = readFileSync(prePath);
binaryen.setDebugInfo(true);
const mod = binaryen.readBinary(bytes);
const F = binaryen.Features;
mod.setFeatures(
  F.MVP | F.BulkMemory | (F.BulkMemoryOpt ?? 0) | (F.CallIndirectOverlong ?? 0) | F.NontrappingFPToInt | F.SignExt | F.MutableGlobals | F.ReferenceTypes | F.Multivalue,
);
const drop = [];
for (let i = 0; i < mod.getNumExports(); i++) {
  const name = binaryen.getExportInfo(mod.getExportByIndex(i)).name;
  if (/describe/.test(name)) drop.push(name);
}
for (const name of drop) mod.removeExport(name);
binaryen.setOptimizeLevel(2);
binaryen.setShrinkLevel(1);
mod.optimize();
const out = mod.emitBinary();
mod.dispose();
const code = codeByCrate(out);
delete code.all;
process.stdout.write(
  `${JSON.stringify({ ...code, droppedExports: drop.length, sections: sections(out).map(({ name, size }) => ({ name, size })) })}\n`,
);
