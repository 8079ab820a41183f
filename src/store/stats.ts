/**
 * Shaping the grouped totals from OrderQueries.stats for people: one series per currency (amounts
 * in different currencies are never added together), months with no orders shown as empty rows,
 * and the long tail of retailers or categories folded into one "other" row. Pure functions over
 * StatRow, so the chart and the TSV output show exactly the same rows.
 */
import { addMinor, compareMinor, type MinorSum } from '../connectors/money.js';
import type { StatRow } from './queries.js';

export type StatsBy = 'month' | 'retailer' | 'category';

export interface StatGroup {
  key: string;
  orders: number;
  /** Minor units of the series' currency (exact: a bigint beyond 2^53). */
  total: MinorSum;
  refunded: MinorSum;
  /** A month with no orders, inserted to keep the timeline honest. */
  gap?: boolean;
  /** How many groups an "other" row folds together. */
  folded?: number;
}

export interface CurrencySeries {
  currency: string;
  groups: StatGroup[];
  /** Sums over every group of this currency (before folding, so nothing is lost). */
  orders: number;
  total: MinorSum;
  refunded: MinorSum;
}

/**
 * Split rows by currency, keeping each currency's row order. Series are ordered by order count
 * (totals in different currencies are not comparable), then by code.
 */
export function seriesByCurrency(rows: readonly StatRow[]): CurrencySeries[] {
  const map = new Map<string, CurrencySeries>();
  for (const r of rows) {
    let s = map.get(r.currency);
    if (!s) map.set(r.currency, (s = { currency: r.currency, groups: [], orders: 0, total: 0, refunded: 0 }));
    s.groups.push({ key: r.key, orders: r.orders, total: r.total, refunded: r.refunded });
    s.orders += r.orders;
    s.total = addMinor(s.total, r.total);
    s.refunded = addMinor(s.refunded, r.refunded);
  }
  return [...map.values()].sort((a, b) => b.orders - a.orders || a.currency.localeCompare(b.currency));
}

/** "2026-01" → "2026-02"; December rolls into the next year. */
export function nextMonth(ym: string): string {
  const y = Number(ym.slice(0, 4));
  const m = Number(ym.slice(5, 7));
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/**
 * Every month from the first to the last group, in order; missing months become gap rows.
 * `range` widens the timeline (e.g. to the months of every currency, so their charts line up).
 */
export function fillMonthGaps(groups: readonly StatGroup[], range?: { from: string; to: string }): StatGroup[] {
  const sorted = [...groups].sort((a, b) => a.key.localeCompare(b.key));
  if (sorted.length === 0) return [];
  const byKey = new Map(sorted.map((g) => [g.key, g]));
  const first = range && range.from < sorted[0]!.key ? range.from : sorted[0]!.key;
  const last = range && range.to > sorted[sorted.length - 1]!.key ? range.to : sorted[sorted.length - 1]!.key;
  const out: StatGroup[] = [];
  // Bounded (200 years), so a malformed key cannot loop for long.
  for (let ym = first; ym <= last && out.length < 12 * 200; ym = nextMonth(ym)) {
    out.push(byKey.get(ym) ?? { key: ym, orders: 0, total: 0, refunded: 0, gap: true });
  }
  return out;
}

/**
 * The top `n` groups by total, then one "other" row summing the rest. For categories an order that
 * spans several categories counts once in each, so the "other" order count can exceed the number
 * of distinct orders it stands for.
 */
export function foldTop(groups: readonly StatGroup[], n: number, otherLabel = 'other'): StatGroup[] {
  const sorted = [...groups].sort((a, b) => compareMinor(b.total, a.total) || b.orders - a.orders || a.key.localeCompare(b.key));
  // An "other" row standing for a single group hides a name and saves no space.
  if (sorted.length <= n + 1) return sorted;
  const rest = sorted.slice(n);
  const other: StatGroup = { key: otherLabel, orders: 0, total: 0, refunded: 0, folded: rest.length };
  for (const g of rest) {
    other.orders += g.orders;
    other.total = addMinor(other.total, g.total);
    other.refunded = addMinor(other.refunded, g.refunded);
  }
  return [...sorted.slice(0, n), other];
}

/** The months every series spans together, for one shared timeline. */
export function monthRange(series: readonly CurrencySeries[]): { from: string; to: string } | undefined {
  const keys = series.flatMap((s) => s.groups.map((g) => g.key)).sort();
  return keys.length ? { from: keys[0]!, to: keys[keys.length - 1]! } : undefined;
}

/** The rows people see for one series: months with gaps filled, or the top N plus "other". */
export function shapeSeries(s: CurrencySeries, by: StatsBy, top: number, months?: { from: string; to: string }): CurrencySeries {
  return { ...s, groups: by === 'month' ? fillMonthGaps(s.groups, months) : foldTop(s.groups, top) };
}
