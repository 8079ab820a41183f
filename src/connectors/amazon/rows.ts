/**
 * One CSV record of a known layout → one staged row: only the allow-listed columns (columns.ts),
 * each cleaned (values.ts), money already checked against its currency's decimals. A record that
 * cannot be read throws RowError naming its column; the importer names file and line and skips it.
 */
import { createHash } from 'node:crypto';
import type { Field, Kind, Layout } from './columns.js';
import { amount, currency, date, decimal, marketplaceCurrency, minor, quantity, text, unguard, ValueError } from './values.js';

export class RowError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(message);
  }
}

/** What the staging table keeps per row. `j` holds cleaned values only (decimals as text). */
export interface StagedRow {
  /** The order id. */
  k: string;
  kind: Kind;
  /** The row's currency, when the row carries money. */
  cur: string | null;
  /** Refund rows: which source wins for an order (lower is better), else 0. */
  rank: number;
  /** Refund rows repeated in their file (trap 18) collapse on this key; null keeps every row. */
  dedupe: string | null;
  j: Record<string, string | number | null>;
}

export const REFUND_RANK: Partial<Record<Kind, number>> = { 'refund-payments': 1, 'refund-details': 2, 'customer-returns': 3, 'legacy-refunds': 4 };

/** An ISBN re-saved by a spreadsheet loses its leading zero (trap 4, 17): `316389706` → `0316389706`. */
function sku(raw: string | null): string | null {
  if (raw === null || /^_?asinless_?$/i.test(raw)) return null;
  const s = unguard(raw);
  return /^\d{8,9}$/.test(s) ? s.padStart(10, '0') : s;
}

export function stageRow(layout: Layout, fields: readonly string[]): StagedRow {
  const col = (f: Field) => layout.header[f] ?? f;
  const cell = (f: Field): string | undefined => {
    const i = layout.index[f];
    return i === undefined ? undefined : fields[i];
  };
  const read = <T>(f: Field, fn: (raw: string | undefined) => T): T => {
    try {
      return fn(cell(f));
    } catch (err) {
      if (err instanceof ValueError) throw new RowError(col(f), err.message);
      throw err;
    }
  };
  const orderId = text(cell('orderId'));
  if (orderId === null) throw new RowError(col('orderId'), 'no order id');
  const k = unguard(orderId).slice(0, 120);
  const kind = layout.kind;
  const website = text(cell('website'));
  const cur = (): string => {
    const c = read('currency', currency) ?? marketplaceCurrency(website);
    if (c === null) throw new RowError(layout.header.currency ?? 'Currency', 'no currency (and none implied by the marketplace)');
    return c;
  };
  const when = (): string => {
    const d = read('orderDate', date);
    if (d === null) throw new RowError(col('orderDate'), 'no order date');
    return d;
  };
  const money = (f: Field, c: string): number | null => read(f, (raw) => minor(raw, c));
  const row = (c: string | null, j: StagedRow['j'], rank = 0, dedupe: string | null = null): StagedRow => ({ k, kind, cur: c, rank, dedupe, j });

  switch (kind) {
    case 'retail':
    case 'legacy-items':
    case 'digital-items': {
      const c = cur();
      const d = when();
      const q = read('quantity', quantity) ?? 1;
      const up = money('unitPrice', c) ?? 0;
      let tax: number;
      if (kind === 'legacy-items') tax = money('tax', c) ?? 0;
      else {
        const ut = money('unitTax', c) ?? 0;
        // Digital Items: a tax not below the price is the tax-inclusive price (VAT marketplaces), not a tax.
        tax = kind === 'digital-items' && ut >= up && up > 0 ? 0 : ut * q;
      }
      const sh = kind === 'retail' ? (money('shipping', c) ?? 0) : 0;
      const di = kind === 'retail' ? (money('discount', c) ?? 0) : 0; // negative in the file
      const owed = kind === 'digital-items' ? null : money('owed', c);
      const charge = owed ?? up * q + tax + sh + di;
      const status = kind === 'digital-items' ? (/^(yes|true)$/i.test(text(cell('fulfilled')) ?? '') ? 'Fulfilled' : text(cell('fulfilled')) === null ? null : 'Not fulfilled') : text(cell('orderStatus'));
      return row(c, {
        d,
        w: website,
        os: status,
        ss: text(cell('shipmentStatus')),
        n: (text(cell('name')) ?? sku(text(cell('asin'))) ?? '(no product name)').slice(0, 500),
        a: sku(text(cell('asin'))),
        c: text(cell('category')),
        q,
        up: decimal(up, c),
        tax: decimal(tax, c),
        sh: decimal(sh, c),
        dis: decimal(-di, c),
        ch: decimal(charge, c),
      });
    }
    case 'legacy-shipments': {
      const c = cur();
      const total = money('owed', c);
      if (total === null) throw new RowError(col('owed'), 'no total charged');
      const dis = money('discount', c) ?? 0;
      return row(c, {
        d: when(),
        w: website,
        os: text(cell('orderStatus')),
        sub: decimal(money('subtotal', c) ?? 0, c),
        sh: decimal(money('shipping', c) ?? 0, c),
        tax: decimal(money('tax', c) ?? 0, c),
        dis: decimal(Math.abs(dis), c),
        ch: decimal(total, c),
      });
    }
    case 'digital-orders':
      return row(null, { d: read('orderDate', date), w: website, os: text(cell('orderStatus')), ss: text(cell('shipmentStatus')) });
    case 'refund-payments':
    case 'refund-details':
    case 'customer-returns':
    case 'legacy-refunds': {
      const state = text(cell('refundStatus'));
      if (state !== null && /cancel|fail|reject|declin|pending|initiated|not.?complete/i.test(state)) return row(null, { skip: 1 });
      const c = read('currency', currency);
      const m = (f: Field): string | null => {
        if (c === null) return read(f, amount);
        const v = money(f, c);
        return v === null ? null : decimal(v, c);
      };
      const amt = m('refundAmount'); // null = "No Refund" (an exchange)
      const tax = kind === 'legacy-refunds' ? m('refundTax') : null;
      const key =
        kind === 'refund-payments' && text(cell('reversalId')) !== null
          ? `r:${unguard(text(cell('reversalId'))!)}`
          : kind === 'customer-returns'
            ? `c:${createHash('sha1').update(fields.map((f) => f.trim()).join('\u001f')).digest('base64')}`
            : null;
      return row(c, { amt, tax }, REFUND_RANK[kind]!, key);
    }
    case 'returns':
      return row(null, {});
    case 'not-needed':
      return row(null, {});
  }
}

