// Time spent in `new WebAssembly.Module` / `new WebAssembly.Instance` (a glue's initSync), caught
// by wrapping both constructors. For the cold-start children, which call it before their clock.

/** Wraps the constructors; the returned totals (ms) grow as modules are compiled and instantiated. */
export function timeWasmConstructors() {
  const wasmMs = { compile: 0, instantiate: 0 };
  for (const [key, name] of [["compile", "Module"], ["instantiate", "Instance"]]) {
    const Real = WebAssembly[name];
    WebAssembly[name] = new Proxy(Real, {
      construct(target, args, newTarget) {
        const s = performance.now();
        try {
          return Reflect.construct(target, args, newTarget);
        } finally {
          wasmMs[key] += performance.now() - s;
        }
      },
    });
  }
  return wasmMs;
}
