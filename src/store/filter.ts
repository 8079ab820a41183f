/**
 * Filters that take several values (`--retailer A --retailer B`): OR within a flag, AND across
 * flags. Text comparisons are case-insensitive and written so the NOCASE indexes of migration 2
 * (orders_by_retailer_nocase, order_items_by_category_nocase) stay usable.
 */

/** A filter value as given: one string (the original API), several, or none. */
export type OneOrMany = string | readonly string[] | undefined;

/** The values of a filter, without duplicates (case-insensitively) and without empty strings. */
export function anyOf(v: OneOrMany): string[] {
  if (v === undefined) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const x of typeof v === 'string' ? [v] : v) {
    const k = x.toLowerCase();
    if (x === '' || seen.has(k)) continue;
    seen.add(k);
    out.push(x);
  }
  return out;
}

/**
 * `col = ? COLLATE NOCASE`, or `col COLLATE NOCASE IN (?, …)` for several values. `test` wraps
 * the column in unary + (SQLite's way to keep the planner off its index) for filters that are
 * only tested while another index drives the scan.
 */
export function nocaseMatch(col: string, n: number, test = false): string {
  const c = test ? `(+${col})` : col;
  return n === 1 ? `${c} = ? COLLATE NOCASE` : `${c} COLLATE NOCASE IN (${Array.from({ length: n }, () => '?').join(', ')})`;
}
