// Sums the pass/fail counts printed by each runner in .cache/test-logs/*.log (cargo test,
// wasm-bindgen-test, node --test, vitest) into one closing line: "N passed, N failed".
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
let passed = 0;
let failed = 0;
const rows = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".log")).sort()) {
  // Runners color their summaries when they think they talk to a terminal: strip ANSI codes.
  const text = readFileSync(join(dir, file), "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  let p = 0;
  let f = 0;
  // cargo test and wasm-bindgen-test: "test result: ok. 48 passed; 0 failed; ..."
  for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    p += Number(m[1]);
    f += Number(m[2]);
  }
  // node --test: "# pass 12" / "# fail 0"
  for (const m of text.matchAll(/^# pass (\d+)$/gm)) p += Number(m[1]);
  for (const m of text.matchAll(/^# fail (\d+)$/gm)) f += Number(m[1]);
  // vitest: "Tests  26 passed (26)" or "Tests  1 failed | 25 passed (26)"
  for (const m of text.matchAll(/^\s*Tests\s+(.*)\((\d+)\)\s*$/gm)) {
    const passedMatch = m[1].match(/(\d+) passed/);
    const failedMatch = m[1].match(/(\d+) failed/);
    p += passedMatch ? Number(passedMatch[1]) : 0;
    f += failedMatch ? Number(failedMatch[1]) : 0;
  }
  rows.push(`${file.replace(/\.log$/, "").padEnd(14)} ${String(p).padStart(5)} passed, ${f} failed`);
  passed += p;
  failed += f;
}
console.log(rows.join("\n"));
if (passed === 0) {
  console.log("no test ran");
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
