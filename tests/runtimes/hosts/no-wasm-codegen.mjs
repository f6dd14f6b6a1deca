// Imported first by the workerd worker: makes compiling WebAssembly from bytes throw, as
// Cloudflare's production Workers do ("Wasm code generation disallowed by embedder"); local
// workerd allows it, so without this a test could not tell the `.wasm` module import from the
// inlined bytes. Instantiating an already compiled WebAssembly.Module stays allowed (as there).
const refuse = (what) => {
  throw new WebAssembly.CompileError(`${what}(): Wasm code generation disallowed by embedder`);
};
const NativeModule = WebAssembly.Module;
const nativeInstantiate = WebAssembly.instantiate;
WebAssembly.Module = new Proxy(NativeModule, { construct: () => refuse("WebAssembly.Module") });
WebAssembly.compile = () => refuse("WebAssembly.compile");
WebAssembly.compileStreaming = () => refuse("WebAssembly.compileStreaming");
WebAssembly.instantiateStreaming = () => refuse("WebAssembly.instantiateStreaming");
WebAssembly.instantiate = (source, imports) =>
  source instanceof NativeModule ? nativeInstantiate(source, imports) : refuse("WebAssembly.instantiate");

/** Whether compiling the 8-byte empty module from bytes is refused (proves the guard is on). */
export function bytesCompileRefused() {
  try {
    new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    return false;
  } catch {
    return true;
  }
}
