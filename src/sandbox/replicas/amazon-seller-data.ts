/**
 * The replica's seller: a deterministic shop (same seed → same orders), generated lazily (order
 * i is computed when asked for, so a million orders cost nothing until read), seen through either
 * Orders API version. Payloads carry everything the real API can send — buyer, recipient address,
 * payment executions with card brand and authorization code, tax registrations, gift messages,
 * tracking numbers — so the connector's allow-list is tested against them (CONNECTORS.md §1.7).
 * Canary values (`canary-…`) make any leak easy to find.
 */
import { MARKETPLACES } from '../../connectors/amazon-seller/regions.js';

export interface SellerShopOptions {
  seed: number;
  orders: number;
  marketplace: string;
  /** Epoch ms of order 0's creation (default 2026-06-01T00:00:00Z). */
  epochMs: number;
  /** Time between two orders' creation (default 10 min). */
  stepMs: number;
}

/** A later change to one order (status, new update time). */
export interface Overlay {
  updatedMs: number;
  status: Status;
}

export type Status = 'PENDING' | 'UNSHIPPED' | 'SHIPPED' | 'CANCELLED';
const V0_STATUS: Record<Status, string> = { PENDING: 'Pending', UNSHIPPED: 'Unshipped', SHIPPED: 'Shipped', CANCELLED: 'Canceled' };

const UPDATE_LAG_MS = 3_600_000;
const TITLES = ['Espresso beans 1 kg', 'USB-C cable, braided, 2 m', 'Notebook A5, dotted', 'Stainless water bottle', 'LED desk lamp', 'Cotton tote bag', 'Ceramic mug 350 ml', 'Phone stand, aluminium'];

/** mulberry32 over (seed, i): order i is the same every time without generating 0..i-1. */
function rng(seed: number, i: number): () => number {
  let a = (seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Line {
  orderItemId: string;
  asin: string;
  sku: string;
  title: string;
  qty: number;
  unitMinor: number;
  taxMinor: number;
}

interface Core {
  index: number;
  orderId: string;
  createdMs: number;
  updatedMs: number;
  status: Status;
  currency: string;
  exp: number;
  lines: Line[];
  shippingMinor: number;
}

export class SellerShop {
  readonly overlays = new Map<number, Overlay>();
  count: number;
  constructor(readonly o: SellerShopOptions) {
    this.count = o.orders;
  }

  get currency(): string {
    return MARKETPLACES[this.o.marketplace]?.currency ?? 'USD';
  }

  createdMs(i: number): number {
    return this.o.epochMs + i * this.o.stepMs;
  }
  baseUpdatedMs(i: number): number {
    return this.createdMs(i) + UPDATE_LAG_MS;
  }

  core(i: number): Core {
    const r = rng(this.o.seed, i);
    const exp = this.currency === 'JPY' ? 0 : 2;
    const n = 1 + Math.floor(r() * 3);
    const lines: Line[] = [];
    for (let k = 0; k < n; k++) {
      const unit = exp === 0 ? 100 * (5 + Math.floor(r() * 200)) : 199 + Math.floor(r() * 9800);
      const qty = 1 + Math.floor(r() * 3);
      lines.push({
        orderItemId: String(10_000_000_000_000 + i * 10 + k),
        asin: `B0${(i * 7 + k).toString(36).toUpperCase().padStart(8, '0')}`,
        sku: `SKU-${(i % 97) + k}`,
        title: TITLES[Math.floor(r() * TITLES.length)]!,
        qty,
        unitMinor: unit,
        taxMinor: Math.floor((unit * qty) / 10),
      });
    }
    const ov = this.overlays.get(i);
    const statuses: Status[] = ['SHIPPED', 'SHIPPED', 'SHIPPED', 'UNSHIPPED', 'CANCELLED'];
    const drawn = statuses[Math.floor(r() * statuses.length)]!; // always drawn: the id below must not depend on an overlay
    const status = ov?.status ?? drawn;
    const id = (x: number) => String(Math.floor(x)).padStart(7, '0');
    return {
      index: i,
      orderId: `${this.o.marketplace === 'A1VC38T7YXB528' ? 250 : 111}-${id(r() * 1e7)}-${id(i)}`,
      createdMs: this.createdMs(i),
      updatedMs: ov?.updatedMs ?? this.baseUpdatedMs(i),
      status,
      currency: this.currency,
      exp,
      lines,
      shippingMinor: exp === 0 ? 500 : 499,
    };
  }

  /** Indexes of orders whose (updated or created) time is within [after, before], oldest update first. */
  select(field: 'updated' | 'created', afterMs: number, beforeMs: number): number[] {
    const offset = field === 'updated' ? UPDATE_LAG_MS : 0;
    const lo = Math.max(0, Math.ceil((afterMs - this.o.epochMs - offset) / this.o.stepMs));
    const hi = Math.min(this.count - 1, Math.floor((beforeMs - this.o.epochMs - offset) / this.o.stepMs));
    const base: number[] = [];
    for (let i = lo; i <= hi; i++) if (field === 'created' || !this.overlays.has(i)) base.push(i);
    if (field === 'created') return base;
    const moved = [...this.overlays.entries()].filter(([i, ov]) => i < this.count && ov.updatedMs >= afterMs && ov.updatedMs <= beforeMs).sort((a, b) => a[1].updatedMs - b[1].updatedMs).map(([i]) => i);
    return [...base, ...moved];
  }
}

const money = (minor: number, exp: number, currency: string, v0Style = false) => {
  const major = exp === 0 ? String(minor) : (minor / 100).toFixed(2);
  // JPY with and without decimals (trap 8): v0 writes "1980.00", 2026 writes "1980".
  const amount = v0Style && exp === 0 ? `${major}.00` : major;
  return v0Style ? { CurrencyCode: currency, Amount: amount } : { amount, currencyCode: currency };
};

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** An order as searchOrders (2026-01-01) returns it, with only the `includedData` blocks asked for. */
export function order2026(c: Core, marketplace: string, included: ReadonlySet<string>): Record<string, unknown> {
  const m = (minor: number) => money(minor, c.exp, c.currency);
  const items = c.lines.reduce((s, l) => s + l.unitMinor * l.qty, 0);
  const tax = c.lines.reduce((s, l) => s + l.taxMinor, 0);
  const known = MARKETPLACES[marketplace];
  const o: Record<string, unknown> = {
    orderId: c.orderId,
    createdTime: iso(c.createdMs),
    lastUpdatedTime: iso(c.updatedMs),
    programs: [],
    salesChannel: { channelName: 'AMAZON', marketplaceId: marketplace, marketplaceName: known ? `Amazon.${known.country === 'US' ? 'com' : known.country === 'UK' ? 'co.uk' : known.country === 'JP' ? 'co.jp' : known.country.toLowerCase()}` : 'Amazon' },
    orderItems: c.lines.map((l) => ({
      orderItemId: l.orderItemId,
      quantityOrdered: l.qty,
      product: {
        asin: l.asin, title: l.title, sellerSku: l.sku,
        price: { unitPrice: m(l.unitMinor) },
        serialNumbers: [`canary-serial-${c.index}`],
        customization: { customizedUrl: `https://example.invalid/canary-custom/${c.index}` },
      },
      ...(included.has('PROCEEDS') ? { proceeds: { proceedsTotal: m(l.unitMinor * l.qty + l.taxMinor), breakdowns: [{ type: 'ITEM', subtotal: m(l.unitMinor * l.qty) }, { type: 'TAX', subtotal: m(l.taxMinor) }] } } : {}),
      ...(included.has('FULFILLMENT') ? { fulfillment: { quantityFulfilled: c.status === 'SHIPPED' ? l.qty : 0, quantityUnfulfilled: c.status === 'SHIPPED' ? 0 : l.qty, packing: { giftOption: { giftMessage: `canary-gift-message-${c.index}`, giftWrapLevel: 'CLASSIC' } } } } : {}),
    })),
  };
  if (included.has('BUYER')) o.buyer = { buyerName: `Canary Buyer ${c.index}`, buyerEmail: `canary-buyer-${c.index}@marketplace.example`, buyerCompanyName: 'Canary Ltd', buyerPurchaseOrderNumber: `PO-CANARY-${c.index}` };
  if (included.has('RECIPIENT')) o.recipient = { deliveryAddress: { name: `Canary Recipient ${c.index}`, addressLine1: '1 Canary Wharf', city: 'London', postalCode: 'E14 5AB', countryCode: 'GB', phone: '+44 20 0000 0000', addressType: 'RESIDENTIAL' } };
  if (included.has('PROCEEDS')) o.proceeds = { grandTotal: m(items + tax + c.shippingMinor), breakdowns: [{ type: 'ITEM', subtotal: m(items) }, { type: 'SHIPPING', subtotal: m(c.shippingMinor) }, { type: 'TAX', subtotal: m(tax) }] };
  if (included.has('FULFILLMENT')) o.fulfillment = { fulfillmentStatus: c.status, fulfilledBy: 'MERCHANT', fulfillmentServiceLevel: 'STANDARD' };
  if (included.has('PACKAGES') && c.status === 'SHIPPED') o.packages = [{ packageReferenceId: `PKG-${c.index}`, carrier: 'UPS', trackingNumber: `1ZCANARYTRACK${c.index}`, shipFromAddress: { name: 'Canary Warehouse', addressLine1: '2 Canary Road', postalCode: '98101', countryCode: 'US' } }];
  if (included.has('TAX')) o.tax = { taxRegistrations: [{ taxRegistrationNumber: `CANARY-VAT-${c.index}`, legalName: 'Canary Ltd', address: { addressLine1: '3 Canary Street', postalCode: '10001' } }] };
  if (included.has('PAYMENT')) o.payment = { paymentExecutions: [{ paymentMethod: 'CREDIT_CARD', paymentAmount: m(items + tax + c.shippingMinor), acquirerId: 'canary-acquirer', cardBrand: 'VISA', authorizationCode: `canary-auth-${c.index}` }] };
  return o;
}

/** The same order as v0 getOrders returns it: buyer info, addresses and payment details included (v0 has no includedData). */
export function orderV0(c: Core, marketplace: string): Record<string, unknown> {
  const items = c.lines.reduce((s, l) => s + l.unitMinor * l.qty, 0);
  const tax = c.lines.reduce((s, l) => s + l.taxMinor, 0);
  return {
    AmazonOrderId: c.orderId,
    PurchaseDate: iso(c.createdMs),
    LastUpdateDate: iso(c.updatedMs),
    OrderStatus: V0_STATUS[c.status],
    FulfillmentChannel: 'MFN',
    SalesChannel: 'Amazon.com',
    ...(c.status === 'PENDING' ? {} : { OrderTotal: money(items + tax + c.shippingMinor, c.exp, c.currency, true) }),
    NumberOfItemsShipped: c.status === 'SHIPPED' ? c.lines.length : 0,
    NumberOfItemsUnshipped: c.status === 'SHIPPED' ? 0 : c.lines.length,
    PaymentMethod: 'Other',
    PaymentMethodDetails: ['CreditCard', 'GiftCertificate'],
    PaymentExecutionDetail: [{ Payment: money(items, c.exp, c.currency, true), PaymentMethod: 'CreditCard', AcquirerId: 'canary-acquirer', CardBrand: 'VISA', AuthorizationCode: `canary-auth-${c.index}` }],
    MarketplaceId: marketplace,
    IsBusinessOrder: false,
    IsPrime: 'false',
    IsReplacementOrder: 'false',
    BuyerInfo: { BuyerEmail: `canary-buyer-${c.index}@marketplace.example`, BuyerName: `Canary Buyer ${c.index}`, BuyerTaxInfo: { CompanyLegalName: 'Canary Ltd' }, PurchaseOrderNumber: `PO-CANARY-${c.index}` },
    ShippingAddress: { Name: `Canary Recipient ${c.index}`, AddressLine1: '1 Canary Wharf', City: 'London', PostalCode: 'E14 5AB', CountryCode: 'GB', Phone: '+44 20 0000 0000' },
    DefaultShipFromLocationAddress: { Name: 'Canary Warehouse', AddressLine1: '2 Canary Road', Phone: '+1 000 000 0000' },
  };
}

/** v0 getOrderItems for one order: ItemPrice is unit price × quantity [V]; Pending orders carry no prices [V]. */
export function orderItemsV0(c: Core): Record<string, unknown>[] {
  const pending = c.status === 'PENDING';
  const m = (minor: number) => money(minor, c.exp, c.currency, true);
  return c.lines.map((l, k) => ({
    ASIN: l.asin,
    OrderItemId: l.orderItemId,
    SellerSKU: l.sku,
    Title: l.title,
    QuantityOrdered: l.qty,
    QuantityShipped: c.status === 'SHIPPED' ? l.qty : 0,
    ...(pending ? {} : { ItemPrice: m(l.unitMinor * l.qty), ItemTax: m(l.taxMinor), ShippingPrice: m(k === 0 ? c.shippingMinor : 0), PromotionDiscount: m(0) }),
    IsGift: 'false',
    BuyerInfo: { GiftMessageText: `canary-gift-message-${c.index}`, GiftWrapLevel: 'Classic' },
    BuyerRequestedCancel: { IsBuyerRequestedCancel: c.status === 'CANCELLED' ? 'true' : 'false', BuyerCancelReason: '' },
    SerialNumbers: [`canary-serial-${c.index}`],
  }));
}
