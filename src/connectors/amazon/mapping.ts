/**
 * The raw record of the amazon connector (one assembled order: its lines, its shipments from the
 * legacy report, its refunds) and the pure mapping to the vocabulary.
 *
 * Totals: the order's total is the sum of its lines' charges (`Total Owed` / `Total Amount` /
 * `Item Total`), never the per-shipment subtotals repeated on each row (trap 11). A cancelled
 * line (quantity 0) charges nothing even where the file keeps an amount (trap 13). When the legacy
 * orders-and-shipments report is present, its per-shipment totals (which include shipping) are
 * the order's amounts. Refunds land in `refunded` and the status, never in the total.
 */
import { z } from 'zod';
import { toMinorUnits } from '../money.js';
import type { NormalizedOrder, OrderStatus } from '../types.js';

const dec = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount');

const line = z.object({
  name: z.string().min(1),
  sku: z.string().nullable(),
  category: z.string().nullable(),
  quantity: z.number().int().nonnegative(),
  unit_price: dec,
  tax: dec,
  shipping: dec,
  discount: dec,
  charge: dec,
  status: z.string().nullable(),
  shipment_status: z.string().nullable(),
});

const shipment = z.object({ subtotal: dec, tax: dec, shipping: dec, discount: dec, total: dec, status: z.string().nullable() });

export const amazonRecord = z.object({
  id: z.string().min(1),
  retailer: z.string().min(1),
  placed_at: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'a UTC timestamp'),
  currency: z.string().regex(/^[A-Z]{3}$/),
  order_status: z.string().nullable(),
  returned: z.boolean(),
  lines: z.array(line),
  shipments: z.array(shipment),
  refunds: z.array(dec),
});
export type AmazonRaw = z.infer<typeof amazonRecord>;

/** Everything the connector reads, and nothing else (the policy drops the rest). */
export const ALLOW_LIST = [
  'id', 'retailer', 'placed_at', 'currency', 'order_status', 'returned', 'refunds',
  'lines[].name', 'lines[].sku', 'lines[].category', 'lines[].quantity', 'lines[].unit_price', 'lines[].tax', 'lines[].shipping',
  'lines[].discount', 'lines[].charge', 'lines[].status', 'lines[].shipment_status',
  'shipments[].subtotal', 'shipments[].tax', 'shipments[].shipping', 'shipments[].discount', 'shipments[].total', 'shipments[].status',
] as const;

type Progress = 'placed' | 'shipped' | 'delivered' | 'cancelled' | 'unknown';

/** One line's (or shipment's) state from `Order Status` / `Shipment Status` (trap 14). */
export function lineState(status: string | null, shipment: string | null, quantity = 1): Progress {
  const s = (status ?? '').toLowerCase();
  const sh = (shipment ?? '').toLowerCase();
  if (quantity === 0 || /cancel/.test(s) || /cancel/.test(sh)) return 'cancelled';
  if (/^(closed|complete|completed|delivered|success|fulfilled)$/.test(s) || /deliver(ed|y complete)/.test(sh)) return 'delivered';
  if (/shipped|dispatched|in transit/.test(s) || /shipped|dispatched/.test(sh)) return 'shipped';
  if (/authori[sz]ed|paid|pending|placed|ordered|processing|not fulfilled|not yet shipped|preparing/.test(s)) return 'placed';
  return 'unknown';
}

const RANK: Record<Progress, number> = { unknown: 0, placed: 1, shipped: 2, delivered: 3, cancelled: 4 };

/** The order is cancelled when every line is; otherwise it is as far along as its least advanced live line. */
function orderState(states: Progress[]): Progress {
  if (!states.length) return 'unknown';
  const live = states.filter((s) => s !== 'cancelled');
  if (!live.length) return 'cancelled';
  return live.reduce((a, b) => (RANK[b] < RANK[a] ? b : a));
}

export function toOrder(raw: AmazonRaw): NormalizedOrder {
  const cur = raw.currency;
  const m = (v: string) => toMinorUnits(v, cur);
  let subtotal = 0;
  let tax = 0;
  let shipping = 0;
  let discount = 0;
  let total = 0;
  for (const l of raw.lines) {
    if (l.quantity === 0) continue; // a cancelled line: nothing was charged for it
    subtotal += m(l.unit_price) * l.quantity;
    tax += m(l.tax);
    shipping += m(l.shipping);
    discount += m(l.discount);
    total += m(l.charge);
  }
  const states = raw.lines.map((l) => lineState(l.status, l.shipment_status, l.quantity));
  if (raw.shipments.length) {
    subtotal = tax = shipping = discount = total = 0;
    for (const s of raw.shipments) {
      subtotal += m(s.subtotal);
      tax += m(s.tax);
      shipping += m(s.shipping);
      discount += m(s.discount);
      total += m(s.total);
    }
    if (!raw.lines.length) states.push(...raw.shipments.map((s) => lineState(s.status, null)));
  }
  let status: OrderStatus = raw.order_status !== null ? lineState(raw.order_status, null) : orderState(states);
  if (raw.order_status !== null && status === 'unknown') status = orderState(states);
  const refunded = raw.refunds.reduce((sum, r) => sum + Math.abs(m(r)), 0);
  if (refunded > 0 && status !== 'cancelled') status = total > 0 && refunded < total ? 'partially_refunded' : 'refunded';
  else if (refunded === 0 && raw.returned && status !== 'cancelled') status = 'returned';
  return {
    orderId: raw.id,
    retailer: raw.retailer,
    orderDate: raw.placed_at,
    status,
    currency: cur,
    subtotal,
    tax,
    shipping,
    discount,
    total,
    refunded,
    providerUpdatedAt: null,
    items: raw.lines.map((l, i) => ({ lineNo: i + 1, name: l.name, sku: l.sku, unitPrice: m(l.unit_price), quantity: l.quantity, category: l.category })),
  };
}
