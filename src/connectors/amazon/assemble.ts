/**
 * One order id's staged rows → the raw record(s) the connector maps (mapping.ts).
 *
 * - Lines come from ONE file: the file with the most rows for that order (two overlapping exports
 *   in one folder must not double an order). Within it every row is a line, byte-identical rows
 *   included: they are real separate purchases (trap 12).
 * - An order's currency is its rows' currency; an id seen in two currencies becomes two orders,
 *   `ID` and `ID (CUR)` for the second (trap 9).
 * - Refunds come from the best refund source that has rows for the order (payments per reversal,
 *   then Refund Details, then customer returns, then the legacy refunds report), so two files
 *   describing the same refund never count it twice; rows repeated in a file collapse (trap 18).
 */
import type { AmazonRaw } from './mapping.js';
import type { GroupRow } from './staging.js';
import { retailer } from './values.js';

const LINE_KINDS = new Set(['retail', 'legacy-items', 'digital-items']);

export interface AssemblyIssue {
  src: number;
  line: number;
  column: string;
  message: string;
}

export interface Assembled {
  raw: AmazonRaw & { _file: number };
  /** The file its lines came from (for the per-file counts). */
  src: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function assemble(rows: readonly GroupRow[], issues: AssemblyIssue[]): Assembled[] {
  const id = rows[0]!.k;
  const lineRows = rows.filter((r) => LINE_KINDS.has(r.kind));
  const ships = rows.filter((r) => r.kind === 'legacy-shipments');
  const info = rows.filter((r) => r.kind === 'digital-orders');
  const refunds = rows.filter((r) => r.rank > 0 && r.j.skip === undefined);
  const returned = rows.some((r) => r.kind === 'returns') || refunds.some((r) => r.j.amt === null);

  // Lines from the one file with the most rows for this order (ties: the first file).
  const perSrc = new Map<number, number>();
  for (const r of lineRows) perSrc.set(r.src, (perSrc.get(r.src) ?? 0) + 1);
  let best = -1;
  for (const [src, n] of perSrc) if (best === -1 || n > perSrc.get(best)! || (n === perSrc.get(best)! && src < best)) best = src;
  const lines = lineRows.filter((r) => r.src === best);
  const money = lines.length ? lines : ships;
  if (!money.length) return []; // refunds or a status for an order this export does not hold

  const currencies = [...new Set(money.map((r) => r.cur!))];
  for (const r of refunds) {
    if (r.cur !== null && !currencies.includes(r.cur)) issues.push({ src: r.src, line: r.line, column: 'Currency', message: `a refund in ${r.cur} for an order in ${currencies.join('/')}: not applied` });
  }
  return currencies.map((cur, i) => {
    const mine = money.filter((r) => r.cur === cur);
    const dates = [...mine, ...info].map((r) => str(r.j.d)).filter((d): d is string => d !== null).sort();
    const website = [...mine, ...info].map((r) => str(r.j.w)).find((w) => w !== null) ?? null;
    const pool = refunds.filter((r) => r.cur === null || r.cur === cur);
    const rank = Math.min(...pool.filter((r) => r.j.amt !== null).map((r) => r.rank));
    const seen = new Set<string>();
    const amounts: string[] = [];
    for (const r of pool) {
      if (r.rank !== rank || r.j.amt === null) continue;
      if (r.dedupe !== null) {
        if (seen.has(r.dedupe)) continue;
        seen.add(r.dedupe);
      }
      amounts.push(str(r.j.amt)!);
      if (str(r.j.tax)) amounts.push(str(r.j.tax)!);
    }
    const raw: AmazonRaw & { _file: number } = {
      id: i === 0 ? id : `${id} (${cur})`,
      retailer: retailer(website),
      placed_at: dates[0]!,
      currency: cur,
      order_status: info.map((r) => str(r.j.os)).find((s) => s !== null) ?? null,
      returned,
      lines: lines
        .filter((r) => r.cur === cur)
        .map((r) => ({
          name: str(r.j.n)!,
          sku: str(r.j.a),
          category: str(r.j.c),
          quantity: r.j.q as number,
          unit_price: str(r.j.up)!,
          tax: str(r.j.tax)!,
          shipping: str(r.j.sh)!,
          discount: str(r.j.dis)!,
          charge: str(r.j.ch)!,
          status: str(r.j.os),
          shipment_status: str(r.j.ss),
        })),
      shipments: ships
        .filter((r) => r.cur === cur)
        .map((r) => ({ subtotal: str(r.j.sub)!, tax: str(r.j.tax)!, shipping: str(r.j.sh)!, discount: str(r.j.dis)!, total: str(r.j.ch)!, status: str(r.j.os) })),
      refunds: amounts,
      _file: mine[0]!.src,
    };
    return { raw, src: mine[0]!.src };
  });
}
