// Memory over many calls, in a fresh process started with --expose-gc: RSS, JS heap, and (for
// this package) the wasm linear memory and externref table of the instance dist/index.mjs creates.
// Prints one JSON line. Spawned by run.mjs; args in BENCH_MEM (JSON).
//
// The wasm instance is private to the bundle, so it is caught as it is made: WebAssembly.Instance
// is wrapped before the bundle is imported (the glue calls `new WebAssembly.Instance(module,
// imports)` at first use). This measures the shipped dist/ bundle itself, not pkg/.
let instance;
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = new Proxy(RealInstance, {
  construct(target, args, newTarget) {
    const made = Reflect.construct(target, args, newTarget);
    instance ??= made;
    return made;
  },
});

const { makeContestants } = await import("./lib/contestants.mjs");
const { which, url, secretKey, root, indexPath, calls, warmup, concurrency, sampleEvery } = JSON.parse(process.env.BENCH_MEM);
if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
// Over the pool of users, so that every call is its own request (see GET_POOL).
const { getPool } = await makeContestants({ root, indexPath, url, secretKey });
const fn = getPool[which];

async function run(count) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function sample(done) {
  // Let finalizers and unref'd timers run, then collect twice (weak refs need a second pass).
  await new Promise((r) => setTimeout(r, 20));
  globalThis.gc();
  await new Promise((r) => setImmediate(r));
  globalThis.gc();
  const m = process.memoryUsage();
  const exports = instance?.exports;
  return {
    calls: done,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    wasmMemory: exports?.memory instanceof WebAssembly.Memory ? exports.memory.buffer.byteLength : null,
    externrefTable: exports?.__wbindgen_externrefs instanceof WebAssembly.Table ? exports.__wbindgen_externrefs.length : null,
  };
}

await run(warmup);
const samples = [await sample(0)];
const started = performance.now();
let done = 0;
while (done < calls) {
  const batch = Math.min(sampleEvery, calls - done);
  await run(batch);
  done += batch;
  samples.push(await sample(done));
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ which, samples, seconds, wasmCaught: instance !== undefined })}\n`);
process.exit(0);
