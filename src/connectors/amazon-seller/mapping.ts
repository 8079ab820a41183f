/**
 * One raw SP-API order (either Orders API version) → the vocabulary. Pure.
 *
 * - 2026-01-01 (`searchOrders`): items are embedded. `proceeds.grandTotal` is what the **seller
 *   receives** ("total amount that the seller receives", CONNECTORS.md §1.4), not what the buyer
 *   paid: it becomes `total` because it is the only order total this API has, and
 *   docs/amazon-seller.md says so. ITEM/TAX/SHIPPING/DISCOUNT breakdowns become subtotal, tax,
 *   shipping, discount; GIFT_WRAP, COD_FEE, DELIVERY_TIP and OTHER stay inside the total only.
 * - v0 (`getOrders` + `getOrderItems`, attached by fetchOrders as `OrderItems`): `OrderTotal` is
 *   the buyer's total charge. `ItemPrice` is price × quantity, so the unit price is a division that
 *   must be exact in minor units — otherwise the record is invalid, never rounded.
 * - Money: decimal strings in major units (`"19940"` JPY, `"11.01"` USD); numbers are accepted
 *   too ("string numbers" both ways); `"10.00"` JPY is ¥10, `"25.99"` JPY is an invalid record
 *   (JPY has no minor unit), never ¥26. Quantities may arrive as strings.
 * - An order whose amounts mix currencies is invalid: nothing here converts currencies.
 */
import { z } from 'zod';
import { MoneyError, toMinorUnits } from '../money.js';
import type { NormalizedItem, NormalizedOrder, OrderStatus } from '../types.js';
import { MARKETPLACES } from './regions.js';

const decimal = z.union([z.string().trim().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount'), z.number().finite()]);
const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code');
const count = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,7}$/, 'a whole number').transform(Number)]);
const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date-time');
const utc = (s: string): string => new Date(s).toISOString();

// ---- 2026-01-01 ---------------------------------------------------------------------------
const money26 = z.object({ amount: decimal, currencyCode: currency });
const item26 = z.object({
  orderItemId: z.string().min(1),
  quantityOrdered: count,
  product: z.object({
    asin: z.string().optional(),
    title: z.string().optional(),
    sellerSku: z.string().optional(),
    price: z.object({ unitPrice: money26.optional() }).optional(),
  }),
});
export const order2026 = z.object({
  orderId: z.string().min(1),
  createdTime: iso,
  lastUpdatedTime: iso,
  salesChannel: z.object({ marketplaceId: z.string().optional(), marketplaceName: z.string().optional() }).optional(),
  fulfillment: z.object({ fulfillmentStatus: z.string().optional() }).optional(),
  proceeds: z.object({ grandTotal: money26.optional(), breakdowns: z.array(z.object({ type: z.string(), subtotal: money26.optional() })).optional() }).optional(),
  orderItems: z.array(item26),
});

// ---- v0 -----------------------------------------------------------------------------------
const moneyV0 = z.object({ CurrencyCode: currency, Amount: decimal });
const itemV0 = z.object({
  ASIN: z.string().min(1),
  OrderItemId: z.string().min(1),
  SellerSKU: z.string().optional(),
  Title: z.string().optional(),
  QuantityOrdered: count,
  ItemPrice: moneyV0.optional(),
  ItemTax: moneyV0.optional(),
  ShippingPrice: moneyV0.optional(),
  ShippingTax: moneyV0.optional(),
  ShippingDiscount: moneyV0.optional(),
  PromotionDiscount: moneyV0.optional(),
});
export const orderV0 = z.object({
  AmazonOrderId: z.string().min(1),
  PurchaseDate: iso,
  LastUpdateDate: iso,
  OrderStatus: z.string(),
  MarketplaceId: z.string().optional(),
  SalesChannel: z.string().optional(),
  OrderTotal: moneyV0.optional(),
  OrderItems: z.array(itemV0),
});

export const sellerRecord = z.union([order2026, orderV0]);
export type SellerRecord = z.infer<typeof sellerRecord>;

/** The only raw fields that survive ingestion (rule 24); payment, buyer, address, tax-registration, gift and package data are not among them. */
export const ALLOW_LIST = [
  // 2026-01-01
  'orderId', 'createdTime', 'lastUpdatedTime', 'salesChannel.marketplaceId', 'salesChannel.marketplaceName',
  'fulfillment.fulfillmentStatus', 'proceeds.grandTotal.amount', 'proceeds.grandTotal.currencyCode',
  'proceeds.breakdowns[].type', 'proceeds.breakdowns[].subtotal.amount', 'proceeds.breakdowns[].subtotal.currencyCode',
  'orderItems[].orderItemId', 'orderItems[].quantityOrdered', 'orderItems[].product.asin', 'orderItems[].product.title',
  'orderItems[].product.sellerSku', 'orderItems[].product.price.unitPrice.amount', 'orderItems[].product.price.unitPrice.currencyCode',
  // v0
  'AmazonOrderId', 'PurchaseDate', 'LastUpdateDate', 'OrderStatus', 'MarketplaceId', 'SalesChannel',
  'OrderTotal.CurrencyCode', 'OrderTotal.Amount',
  ...['ASIN', 'OrderItemId', 'SellerSKU', 'Title', 'QuantityOrdered'].map((k) => `OrderItems[].${k}`),
  ...['ItemPrice', 'ItemTax', 'ShippingPrice', 'ShippingTax', 'ShippingDiscount', 'PromotionDiscount'].flatMap((k) => [`OrderItems[].${k}.CurrencyCode`, `OrderItems[].${k}.Amount`]),
] as const;

export const FREE_TEXT = ['orderItems[].product.title', 'orderItems[].product.sellerSku', 'OrderItems[].Title', 'OrderItems[].SellerSKU', 'salesChannel.marketplaceName', 'SalesChannel'] as const;

const STATUS_2026: Record<string, OrderStatus> = {
  PENDING_AVAILABILITY: 'placed', PENDING: 'placed', UNSHIPPED: 'placed', PARTIALLY_SHIPPED: 'shipped', SHIPPED: 'shipped', CANCELLED: 'cancelled', UNFULFILLABLE: 'unknown',
};
const STATUS_V0: Record<string, OrderStatus> = {
  PendingAvailability: 'placed', Pending: 'placed', Unshipped: 'placed', InvoiceUnconfirmed: 'placed', PartiallyShipped: 'shipped', Shipped: 'shipped', Canceled: 'cancelled', Unfulfillable: 'unknown',
};

/** Sums amounts of one currency; a second currency is an invalid record. */
class Purse {
  constructor(readonly currency: string) {}
  minor(m: { amount: string | number; currency: string } | undefined): number {
    if (!m) return 0;
    if (m.currency !== this.currency) throw new MoneyError(`the order mixes ${this.currency} and ${m.currency}`);
    return toMinorUnits(m.amount, this.currency);
  }
}

const m26 = (m: z.infer<typeof money26> | undefined) => (m ? { amount: m.amount, currency: m.currencyCode } : undefined);
const mV0 = (m: z.infer<typeof moneyV0> | undefined) => (m ? { amount: m.Amount, currency: m.CurrencyCode } : undefined);

function retailerOf(name: string | undefined, marketplaceId: string | undefined): string {
  if (name && name.trim()) return name.trim();
  const known = marketplaceId ? MARKETPLACES[marketplaceId] : undefined;
  return known ? `Amazon (${known.country})` : 'Amazon';
}

function currencyOf(candidates: Array<string | undefined>, marketplaceId: string | undefined): string {
  const c = candidates.find((x) => x !== undefined) ?? (marketplaceId ? MARKETPLACES[marketplaceId]?.currency : undefined);
  if (!c) throw new MoneyError('the order has no amount and its marketplace is unknown, so its currency is unknown');
  return c;
}

export function toOrder(raw: SellerRecord): NormalizedOrder {
  return 'orderId' in raw ? from2026(raw) : fromV0(raw);
}

function from2026(r: z.infer<typeof order2026>): NormalizedOrder {
  const mp = r.salesChannel?.marketplaceId;
  const grand = r.proceeds?.grandTotal;
  const cur = currencyOf([grand?.currencyCode, ...r.orderItems.map((i) => i.product.price?.unitPrice?.currencyCode)], mp);
  const purse = new Purse(cur);
  const part = (type: string) => (r.proceeds?.breakdowns ?? []).filter((b) => b.type === type).reduce((s, b) => s + purse.minor(m26(b.subtotal)), 0);
  const items: NormalizedItem[] = r.orderItems.map((i, n) => ({
    lineNo: n + 1,
    name: i.product.title?.trim() || i.product.asin || i.orderItemId,
    sku: i.product.sellerSku ?? i.product.asin ?? null,
    unitPrice: purse.minor(m26(i.product.price?.unitPrice)),
    quantity: i.quantityOrdered,
    category: null,
  }));
  return {
    orderId: r.orderId,
    retailer: retailerOf(r.salesChannel?.marketplaceName, mp),
    orderDate: utc(r.createdTime),
    status: STATUS_2026[r.fulfillment?.fulfillmentStatus ?? ''] ?? 'unknown',
    currency: cur,
    // Without an ITEM breakdown (the official JP sandbox order has only a grandTotal), the
    // subtotal is the items' prices, which the API does send.
    subtotal: (r.proceeds?.breakdowns ?? []).some((b) => b.type === 'ITEM') ? part('ITEM') : items.reduce((s, i) => s + i.unitPrice * i.quantity, 0),
    tax: part('TAX'),
    shipping: part('SHIPPING'),
    discount: Math.abs(part('DISCOUNT')),
    // Seller proceeds, not the buyer's payment (see the module comment and docs/amazon-seller.md).
    total: purse.minor(m26(grand)),
    refunded: 0,
    providerUpdatedAt: utc(r.lastUpdatedTime),
    items,
  };
}

function fromV0(r: z.infer<typeof orderV0>): NormalizedOrder {
  const mp = r.MarketplaceId;
  const cur = currencyOf([r.OrderTotal?.CurrencyCode, ...r.OrderItems.map((i) => i.ItemPrice?.CurrencyCode)], mp);
  const purse = new Purse(cur);
  const sum = (f: (i: z.infer<typeof itemV0>) => z.infer<typeof moneyV0> | undefined) => r.OrderItems.reduce((s, i) => s + purse.minor(mV0(f(i))), 0);
  const items: NormalizedItem[] = r.OrderItems.map((i, n) => {
    const line = purse.minor(mV0(i.ItemPrice));
    const qty = i.QuantityOrdered;
    // ItemPrice is the line total; a unit price that is not a whole number of minor units is not invented.
    if (qty > 1 && line % qty !== 0) throw new MoneyError(`item ${i.OrderItemId}: ItemPrice ${line} minor units is not divisible by quantity ${qty}`);
    return { lineNo: n + 1, name: i.Title?.trim() || i.ASIN, sku: i.SellerSKU ?? i.ASIN, unitPrice: qty > 1 ? line / qty : line, quantity: qty, category: null };
  });
  return {
    orderId: r.AmazonOrderId,
    retailer: retailerOf(r.SalesChannel, mp),
    orderDate: utc(r.PurchaseDate),
    status: STATUS_V0[r.OrderStatus] ?? 'unknown',
    currency: cur,
    subtotal: sum((i) => i.ItemPrice),
    tax: sum((i) => i.ItemTax) + sum((i) => i.ShippingTax),
    shipping: sum((i) => i.ShippingPrice) - sum((i) => i.ShippingDiscount),
    discount: sum((i) => i.PromotionDiscount),
    // The buyer's total charge (v0 OrderTotal); absent for Pending orders, which carry no prices.
    total: purse.minor(mV0(r.OrderTotal)),
    refunded: 0,
    providerUpdatedAt: utc(r.LastUpdateDate),
    items,
  };
}
