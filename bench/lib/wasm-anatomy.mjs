// Where the bytes of a .wasm go: section sizes, and (when a module with a name section is given,
// e.g. the pre-wasm-bindgen, pre-wasm-opt target/wasm32-unknown-unknown/release/*.wasm of the same
// build) code bytes per crate and per function.

function reader(bytes) {
  let p = 0;
  const r = {
    get pos() {
      return p;
    },
    set pos(v) {
      p = v;
    },
    u8: () => bytes[p++],
    leb() {
      let result = 0;
      let shift = 0;
      let b;
      do {
        b = bytes[p++];
        result += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      return result;
    },
    str() {
      const n = r.leb();
      const s = Buffer.from(bytes.subarray(p, p + n)).toString("utf8");
      p += n;
      return s;
    },
  };
  return r;
}

const SECTION = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount", "tag"];

/** [{name, size, start, end}] */
export function sections(bytes) {
  const r = reader(bytes);
  r.pos = 8;
  const out = [];
  while (r.pos < bytes.length) {
    const headerStart = r.pos;
    const id = r.u8();
    const size = r.leb();
    const start = r.pos;
    let name = SECTION[id] ?? `id ${id}`;
    if (id === 0) name = `custom "${r.str()}"`;
    out.push({ id, name, size, headerStart, start, end: start + size });
    r.pos = start + size;
  }
  return out;
}

/** Bytes of the data section that are Rust source paths (panic locations) and other text. */
export function dataText(bytes) {
  const data = sections(bytes).find((s) => s.id === 11);
  if (!data) return { total: 0, paths: 0, pathList: [] };
  const text = Buffer.from(bytes.subarray(data.start, data.end)).toString("latin1");
  const re = /(?:\/root\/\.cargo\/registry\/src\/[^\s\x00-\x1f]*?|\/rustc\/[0-9a-f]{40}\/|src\/)[\w\/.\-]*?\.rs/g;
  let paths = 0;
  const byCrate = new Map();
  for (const m of text.matchAll(re)) {
    paths += m[0].length;
    const crate = /registry\/src\/[^/]+\/([^/]+)\//.exec(m[0])?.[1] ?? (m[0].startsWith("/rustc/") ? "std/core/alloc" : "this crate");
    byCrate.set(crate, (byCrate.get(crate) ?? 0) + m[0].length);
  }
  return { total: data.size, paths, byCrate: [...byCrate].sort((a, b) => b[1] - a[1]) };
}

const ESCAPES = { "$LT$": "<", "$GT$": ">", "$RF$": "&", "$BP$": "*", "$C$": ",", "$SP$": "@", "$u20$": " ", "$u27$": "'", "$u5b$": "[", "$u5d$": "]", "$u7b$": "{", "$u7d$": "}", "$u3b$": ";", "$u7e$": "~", "$u21$": "!", "$u22$": '"', "$u2b$": "+" };

/** Rough demangling (legacy `_ZN…E` exactly; Rust v0 `_R…` by collecting its identifiers). */
export function demangle(name) {
  if (name.startsWith("_ZN")) {
    const parts = [];
    let i = 3;
    while (i < name.length && name[i] !== "E") {
      const m = /^\d+/.exec(name.slice(i));
      if (!m) break;
      const n = Number(m[0]);
      i += m[0].length;
      parts.push(name.slice(i, i + n));
      i += n;
    }
    if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? "")) parts.pop();
    return parts
      .map((p) => p.replace(/^_\$/, "$").replace(/\$[A-Za-z0-9]+\$/g, (e) => ESCAPES[e] ?? e).replace(/\.\./g, "::"))
      .join("::");
  }
  if (name.startsWith("_R")) {
    const idents = [];
    let i = 2;
    while (i < name.length) {
      const c = name[i];
      if (/\d/.test(c)) {
        const m = /^\d+/.exec(name.slice(i));
        i += m[0].length;
        if (name[i] === "_") i++;
        idents.push(name.slice(i, i + Number(m[0])));
        i += Number(m[0]);
      } else if ((c === "s" || c === "B") && /^[0-9A-Za-z]*_/.test(name.slice(i + 1))) {
        i += 1 + /^[0-9A-Za-z]*_/.exec(name.slice(i + 1))[0].length;
      } else i++;
    }
    return idents.join("::");
  }
  // Already demangled (wasm-bindgen keeps names as rustc's v0 demangling: `core[hash]::…::hHASH`).
  return name.replace(/\[[0-9a-f]{8,}\]/g, "").replace(/::h[0-9a-f]{16}$/, "");
}

const PRIMITIVE = /^(?:&|&mut |\*const |\*mut |\[|\()*(?:[iu](?:8|16|32|64|128|size)|f32|f64|bool|char|str)\b/;

function crateOf(raw) {
  const name = demangle(raw);
  let n = name;
  // `<Type as Trait>::f`: the type's crate, or the trait's for a primitive type.
  const impl = /^<(.+?) as ([A-Za-z_][A-Za-z0-9_]*)::/.exec(n);
  if (impl && PRIMITIVE.test(impl[1])) n = impl[2];
  n = n.replace(/^(<|&|dyn |mut |\*const |\*mut |\(|\[)+/g, "");
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(::|$)/.exec(n);
  if (!m) return "(other)";
  const c = m[1];
  if (c === "impl" || c === "_") return "(other)";
  if (["core", "alloc", "std"].includes(c)) return "core/alloc/std";
  if (c === "clerk_metadata_wasm") return "clerk_metadata_wasm (this crate)";
  // wasm-bindgen's export shims, into which -Os inlines this crate's method bodies.
  if (/^(wasmclient_|__wbg_wasmclient_)/.test(c)) return "clerk_metadata_wasm (this crate)";
  if (c.startsWith("__wbindgen") || c.startsWith("__wbg")) return "wasm-bindgen generated shims";
  if (c.startsWith("__") || /^(memcpy|memset|memmove|memcmp|bcmp)$/.test(c)) return "compiler builtins";
  return c;
}

/** Code bytes per function (names from the name section) and per crate. */
export function codeByCrate(bytes) {
  const secs = sections(bytes);
  const r = reader(bytes);
  let imported = 0;
  const imp = secs.find((s) => s.id === 2);
  if (imp) {
    r.pos = imp.start;
    const n = r.leb();
    for (let i = 0; i < n; i++) {
      r.str();
      r.str();
      const kind = r.u8();
      if (kind === 0) {
        imported++;
        r.leb();
      } else if (kind === 1) {
        r.u8();
        const flags = r.leb();
        r.leb();
        if (flags & 1) r.leb();
      } else if (kind === 2) {
        const flags = r.leb();
        r.leb();
        if (flags & 1) r.leb();
      } else if (kind === 3) {
        r.u8();
        r.u8();
      } else if (kind === 4) {
        r.u8();
        r.leb();
      }
    }
  }
  const names = new Map();
  const nameSec = secs.find((s) => s.name === 'custom "name"');
  if (nameSec) {
    r.pos = nameSec.start;
    r.str();
    while (r.pos < nameSec.end) {
      const sub = r.u8();
      const size = r.leb();
      const end = r.pos + size;
      if (sub === 1) {
        const n = r.leb();
        for (let i = 0; i < n; i++) {
          const idx = r.leb();
          names.set(idx, r.str());
        }
      }
      r.pos = end;
    }
  }
  const code = secs.find((s) => s.id === 10);
  r.pos = code.start;
  const count = r.leb();
  const fns = [];
  for (let i = 0; i < count; i++) {
    const size = r.leb();
    const start = r.pos;
    const name = names.get(imported + i) ?? `func${imported + i}`;
    fns.push({ name: demangle(name), size, crate: crateOf(name) });
    r.pos = start + size;
  }
  const crates = new Map();
  for (const f of fns) {
    const c = crates.get(f.crate) ?? { crate: f.crate, bytes: 0, functions: 0 };
    c.bytes += f.size;
    c.functions++;
    crates.set(f.crate, c);
  }
  const describe = fns.filter((f) => /describe/.test(f.name));
  return {
    functions: fns.length,
    codeBytes: code.size,
    hasNames: names.size > 0,
    describeBytes: describe.reduce((a, f) => a + f.size, 0),
    crates: [...crates.values()].sort((a, b) => b.bytes - a.bytes),
    all: fns,
    top: [...fns].sort((a, b) => b.size - a.size).slice(0, 20),
  };
}
