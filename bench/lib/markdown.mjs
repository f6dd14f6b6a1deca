// The markdown report lines and tables both bench reports are made of.

/**
 * @param isLeft  `(headerCell, index) => boolean`: which columns are left-aligned (the rest are
 *   numbers, right-aligned)
 * @returns `L` (the lines; push text to it), `row(...cells)` and `head(...cells)` (a table header)
 */
export function markdown(isLeft = (_, i) => i === 0) {
  const L = [];
  const row = (...cells) => L.push(`| ${cells.join(" | ")} |`);
  const head = (...cells) => {
    row(...cells);
    row(...cells.map((c, i) => (isLeft(c, i) ? "---" : "---:")));
  };
  return { L, row, head };
}
