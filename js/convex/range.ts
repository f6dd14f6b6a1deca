/**
 * The index range builder, as the package's own tables use it: the app's data model is generic
 * to the package, so its typed builder cannot be named here.
 */
interface Range {
  eq(field: string, value: unknown): Range;
  gte(field: string, value: unknown): Range;
  lt(field: string, value: unknown): Range;
}

/** A `withIndex` callback over the package's tables. */
export const range = (build: (q: Range) => Range) => (q: unknown) => build(q as Range) as never;
