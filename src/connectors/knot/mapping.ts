/**
 * A Knot transaction → orderlink's normalized order (pure, no I/O). CONNECTORS.md §4.4/§4.5:
 *
 * - `id` (Knot's UUID) is the order id; the page's merchant name is the retailer.
 * - products → items: name, `external_id` as the SKU (suffixes kept as sent, trap 17),
 *   quantity, `price.unit_price` as the unit price (else the line total ÷ quantity when exact).
 * - adjustments: TAX → tax; DISCOUNT → discount (stored positive, as every connector does);
 *   FEE and TIP → shipping (Knot has no SHIPPING type; fees are where delivery charges land, and
 *   this keeps subtotal + tax + shipping − discount = total); REFUND → refunded; anything else is
 *   ignored (it stays visible as a difference between the parts and `total`).
 * - `price.sub_total` → subtotal (the items' sum when Knot leaves it out), `price.total` → total.
 * - `price.currency` is nullable in Knot's schema; TransactionLink merchants are US merchants,
 *   so a missing currency is USD (docs/knot.md says so).
 * - statuses: a fixed table; values not in it (later API versions, UNRECOGNIZED) become `unknown`.
 */
import { MoneyError, toMinorUnits } from '../money.js';
import type { NormalizedItem, NormalizedOrder, OrderStatus } from '../types.js';
import { toUtcIso, type KnotTransaction } from './schema.js';

const STATUS: Record<string, OrderStatus> = {
  ORDERED: 'placed',
  BILLED: 'placed',
  SHIPPED: 'shipped',
  DELIVERED: 'delivered',
  PICKED_UP: 'delivered',
  COMPLETED: 'delivered',
  RETURNED: 'returned',
  REFUNDED: 'refunded',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
  FAILED: 'cancelled',
};

export function knotStatus(s: string | null | undefined): OrderStatus {
  return (s && STATUS[s.toUpperCase()]) || 'unknown';
}

type Amount = string | number;

export function toOrder(raw: KnotTransaction): NormalizedOrder {
  const cur = (raw.price.currency ?? 'USD').toUpperCase();
  const minor = (v: Amount) => toMinorUnits(v, cur);
  let tax = 0;
  let discount = 0;
  let shipping = 0;
  let refunded = 0;
  for (const a of raw.price.adjustments ?? []) {
    const v = minor(a.amount);
    switch (a.type.toUpperCase()) {
      case 'TAX':
        tax += v;
        break;
      case 'DISCOUNT':
        discount += Math.abs(v);
        break;
      case 'FEE':
      case 'TIP':
        shipping += v;
        break;
      case 'REFUND':
        refunded += Math.abs(v);
        break;
      default:
        break;
    }
  }
  const items: NormalizedItem[] = (raw.products ?? []).map((p, i) => ({
    lineNo: i + 1,
    name: p.name,
    sku: p.external_id ?? null,
    unitPrice: unitPrice(p.price ?? null, p.quantity, minor),
    quantity: p.quantity,
    category: null, // Knot provides no category (CONNECTORS.md §4.4)
  }));
  const subtotal = raw.price.sub_total != null ? minor(raw.price.sub_total) : items.reduce((s, it) => s + it.unitPrice * it.quantity, 0);
  return {
    orderId: raw.id,
    retailer: raw.merchant.name,
    orderDate: toUtcIso(raw.datetime),
    status: knotStatus(raw.order_status),
    currency: cur,
    subtotal,
    tax,
    shipping,
    discount,
    total: minor(raw.price.total),
    refunded,
    providerUpdatedAt: null, // Knot sends no last-modified time
    items,
  };
}

function unitPrice(price: { unit_price?: Amount | null; sub_total?: Amount | null; total?: Amount | null } | null, qty: number, minor: (v: Amount) => number): number {
  if (price?.unit_price != null) return minor(price.unit_price);
  const line = price?.sub_total ?? price?.total;
  if (line == null) throw new MoneyError('a product has no price');
  const t = minor(line);
  if (qty === 0) return t;
  if (t % qty !== 0) throw new MoneyError(`a product's line total ${t} is not a whole multiple of its quantity ${qty}`);
  return t / qty;
}
