// The host half of src/convert.rs: walks a caller's value and writes it as JSON text, refusing
// what JSON cannot hold faithfully (the rules are in convert.rs's header).
//
// Why this part is JavaScript: the walk asks a dozen questions of every value (its type, its
// prototype, its keys, each member), and from Rust each question was a call into the host. A
// small merge made some sixty of them, most of this package's own cost on a write. Here the walk
// runs in the host's JIT, and Rust receives one string, which its strict parser then reads into
// a `core::json::Value`. What a refusal says stays in Rust: this file reports where (a path of
// keys and indexes) and which rule (a code), never a message.
//
// Nothing here may throw into wasm: a Proxy trap or a getter that throws is reported as
// "unreadable" at the path being read.

const objectPrototype = Object.prototype;
const datePrototype = Date.prototype;
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed =
  typeof String.prototype.isWellFormed === "function"
    ? (text) => text.isWellFormed()
    : (text) => !loneSurrogate.test(text);

/** A refusal: `why` is a code convert.rs turns into words; `value` is the offending value. */
class Refusal {
  constructor(why, path, value) {
    this.why = why;
    this.path = path;
    this.value = value;
  }
}

/**
 * `value` as JSON text, or a `Refusal` (`{why, path, value}`).
 *
 * @param {unknown} value
 * @param {number} maxBytes  every JSON value takes at least a byte: more values than this are
 *   refused as too large, before they are read
 * @param {boolean} objectOnly  the value must be a plain object (`metadata`, `entries`)
 * @param {number} maxDepth  nesting refused from this depth on (convert.rs's MAX_DEPTH)
 */
export function jsonText(value, maxBytes, objectOnly, maxDepth) {
  const path = [];
  const ancestors = [];
  let budget = maxBytes;
  const refuse = (why, offending) => {
    throw new Refusal(why, path.slice(), offending);
  };

  const isPlain = (object) => {
    const prototype = Object.getPrototypeOf(object);
    if (prototype === null || prototype === objectPrototype) return true;
    // Another realm's Object.prototype (a vm context, an iframe) has no prototype itself.
    if (Object.getPrototypeOf(prototype) !== null) return false;
    try {
      return typeof prototype.hasOwnProperty === "function";
    } catch {
      return false;
    }
  };

  // `undefined` for `undefined` (the caller drops or refuses it).
  const walk = (item, depth) => {
    if (item === undefined) return undefined;
    if (--budget < 0) refuse("too_large");
    if (item === null) return "null";
    switch (typeof item) {
      case "boolean":
        return item ? "true" : "false";
      case "number":
        // JSON.stringify writes what Rust's walker wrote: integers as integers, -0 as 0,
        // anything else in the host's shortest round-trip form.
        return Number.isFinite(item) ? JSON.stringify(item) : refuse("not_finite", item);
      case "string":
        return wellFormed(item) ? JSON.stringify(item) : refuse("lone_surrogate");
      case "bigint":
        return refuse("bigint");
      case "function":
        return refuse("function");
      case "symbol":
        return refuse("symbol");
      case "object":
        break;
      default:
        return refuse("not_json", item);
    }
    if (depth >= maxDepth) refuse("too_deep");
    if (ancestors.includes(item)) refuse("cycle");
    const isArray = Array.isArray(item);
    if (!isArray && Object.getPrototypeOf(item) === datePrototype) {
      let iso;
      try {
        iso = datePrototype.toISOString.call(item);
      } catch {
        return refuse("invalid_date");
      }
      return JSON.stringify(iso);
    }
    ancestors.push(item);
    let text;
    if (isArray) {
      const length = item.length;
      // A Proxy may claim any length: only a real one is read.
      if (!(Number.isInteger(length) && length >= 0 && length <= 4294967295)) refuse("unreadable");
      // Checked before reading any item: `new Array(2 ** 32 - 1)` is one allocation away.
      if (length > budget) refuse("too_large");
      const parts = [];
      for (let index = 0; index < length; index++) {
        path.push(index);
        const part = walk(item[index], depth + 1);
        if (part === undefined) refuse("hole");
        path.pop();
        parts.push(part);
      }
      text = `[${parts.join(",")}]`;
    } else if (isPlain(item)) {
      const keys = Object.keys(item);
      if (keys.length > budget) refuse("too_large");
      const parts = [];
      for (const key of keys) {
        if (!wellFormed(key)) refuse("key_lone_surrogate");
        path.push(key);
        const part = walk(item[key], depth + 1);
        path.pop();
        if (part !== undefined) parts.push(`${JSON.stringify(key)}:${part}`);
      }
      text = `{${parts.join(",")}}`;
    } else {
      refuse("not_plain", item);
    }
    ancestors.pop();
    return text;
  };

  try {
    if (objectOnly && (value === null || typeof value !== "object" || Array.isArray(value) || !isPlain(value))) {
      return new Refusal("not_plain_root", [], value);
    }
    const text = walk(value, 0);
    return text === undefined ? new Refusal("undefined_root", [], value) : text;
  } catch (error) {
    return error instanceof Refusal ? error : new Refusal("unreadable", path.slice(), undefined);
  }
}
