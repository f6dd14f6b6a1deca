/**
 * The field clients (`client.public`, `.private`, `.unsafe`) over the wasm client, and the
 * many-user operations. Implementation only: every type they use is public and declared in
 * client.ts.
 */
import type { WasmClient } from "./wasm.js";
import {
  ClerkMetadataError,
  type BatchItemResult,
  type BatchOptions,
  type CallOptions,
  type ClerkMetadataClientOptions,
  type ClerkUserObject,
  type MetadataFieldClient,
  type MetadataKind,
} from "./client.js";

function invalidBatch(message: string): ClerkMetadataError {
  return new ClerkMetadataError(`Invalid batch: ${message}`, { code: "invalid_argument" });
}

/**
 * Runs `work` over `items` with at most `concurrency` at once, settling every item: the host
 * schedules, the wasm core still checks, sends and rate-limits each request.
 */
async function runBatch<T extends { userId: string }>(
  items: readonly T[],
  options: BatchOptions | undefined,
  work: (item: T, options: CallOptions) => Promise<void>,
): Promise<BatchItemResult[]> {
  if (!Array.isArray(items)) throw invalidBatch("items must be an array");
  const concurrency = options?.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) {
    throw invalidBatch(`concurrency must be a whole number from 1 to 1000, got ${String(concurrency)}`);
  }
  const results: BatchItemResult[] = new Array(items.length);
  let next = 0;
  let done = 0;
  let failed = 0;
  let stopped = false;
  let callbackError: { error: unknown } | undefined;
  const settle = (result: BatchItemResult): void => {
    results[result.index] = result;
    done += 1;
    if (result.status === "error") failed += 1;
    try {
      options?.onProgress?.({ done, total: items.length, failed, result });
    } catch (error) {
      callbackError ??= { error };
    }
  };
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      const userId = typeof item?.userId === "string" ? item.userId : String(item?.userId);
      const signal = options?.signal;
      if (stopped || options?.signal?.aborted) {
        settle({ index, userId, status: "skipped" });
        continue;
      }
      try {
        await work(item, signal === undefined ? {} : { signal });
        settle({ index, userId, status: "ok" });
      } catch (error) {
        const clerkError =
          error instanceof ClerkMetadataError ? error : new ClerkMetadataError(String(error), { code: "unknown" });
        if (options?.stopOnError) stopped = true;
        settle({ index, userId, status: "error", error: clerkError });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (callbackError) throw callbackError.error;
  return results;
}

/**
 * A write's promise as the caller sees it. With `onUserWritten`, the wasm client resolves a
 * write with Clerk's user object (undefined when nothing was sent), which is handed to it and
 * awaited; what it throws rejects the write's promise as is.
 */
function afterWrite(
  onUserWritten: ClerkMetadataClientOptions["onUserWritten"],
): (written: Promise<unknown>) => Promise<void> {
  if (onUserWritten === undefined) return (written) => written as Promise<void>;
  return async (written) => {
    const user = await written;
    if (user !== undefined) await onUserWritten(user as ClerkUserObject);
  };
}

export function field<T extends object>(
  wasm: WasmClient,
  kind: MetadataKind,
  onUserWritten?: ClerkMetadataClientOptions["onUserWritten"],
): MetadataFieldClient<T> {
  // The wasm methods never throw: every failure, bad options included, rejects with a
  // ClerkMetadataError (the class is handed to the wasm client, which builds them).
  const done = afterWrite(onUserWritten);
  return {
    get: (userId, options) => wasm.get(kind, userId, options),
    getKey: (userId, key, options) => wasm.getKey(kind, userId, key, options),
    hasKey: (userId, key, options) => wasm.hasKey(kind, userId, key, options),
    replace: (userId, metadata, options) => done(wasm.replace(kind, userId, metadata, options)),
    merge: (userId, metadata, options) => done(wasm.merge(kind, userId, metadata, options)),
    removeKeys: (userId, keys, options) => done(wasm.removeKeys(kind, userId, keys, options)),
    setKey: (userId, key, value, options) => done(wasm.setKey(kind, userId, key, value, options)),
    setKeys: (userId, entries, options) => done(wasm.setKeys(kind, userId, entries, options)),
    clear: (userId, options) => done(wasm.clear(kind, userId, options)),
    mergeMany: (items, options) =>
      runBatch(items, options, (item, callOptions) => done(wasm.merge(kind, item?.userId, item?.metadata, callOptions))),
    setKeysMany: (items, options) =>
      runBatch(items, options, (item, callOptions) => done(wasm.setKeys(kind, item?.userId, item?.entries, callOptions))),
    replaceMany: (items, options) =>
      runBatch(items, options, (item, callOptions) => done(wasm.replace(kind, item?.userId, item?.metadata, callOptions))),
    removeKeysMany: (items, options) =>
      runBatch(items, options, (item, callOptions) => done(wasm.removeKeys(kind, item?.userId, item?.keys, callOptions))),
  };
}
