/**
 * Deterministic order data. Every order is a pure function of (seed, account, index): a small
 * seeded PRNG (mulberry32) is started per order, so any order can be generated on its own, in any
 * order, without holding the others in memory. Dates are relative to a FIXED epoch, never the wall
 * clock, so the same seed gives byte-identical data on every machine and every day.
 */
import { ACCOUNT_NAMES, CITIES, FX, ITEMS, NOTES, RETAILERS, STREETS, TEST_CARDS, type Retailer } from './catalog.js';

/**
 * "Now" for the generated world (fixed, never the wall clock): orders are placed within the three
 * years before it; changes made by advance() come after it, one minute per step.
 */
export const SANDBOX_EPOCH_MS = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const HOUR = 3_600_000;
const SPAN_MINUTES = (3 * 365 * DAY) / 60_000;

export type RawStatus = 'placed' | 'shipped' | 'delivered' | 'cancelled' | 'refunded' | 'partially_refunded';

export interface RawItem {
  line: number;
  name: string;
  sku: string;
  unit_price: string;
  quantity: number;
  category: string;
}
export interface RawAmounts {
  subtotal: string;
  tax: string;
  shipping: string;
  discount: string;
  total: string;
  refunded: string;
}
/** One order exactly as the sandbox API serves it (see docs/sandbox.md). */
export interface RawOrder {
  id: string;
  retailer: string;
  placed_at: string;
  updated_at: string;
  status: RawStatus;
  currency: string;
  amounts: RawAmounts;
  items: RawItem[];
  payment: { card_brand: string; last4: string; card_number: string; billing_zip: string };
  shipping_address: { name: string; line1: string; city: string; postal_code: string };
  note: string | null;
}
/** A deletion, served in the feed at the time of deletion. */
export interface RawTombstone {
  id: string;
  deleted: true;
  updated_at: string;
}

/** The internal form: money in integer minor units, times in epoch milliseconds. */
export interface OrderState {
  index: number;
  id: string;
  retailer: Retailer;
  placedMs: number;
  updatedMs: number;
  status: RawStatus;
  items: { name: string; sku: string; unit: number; qty: number; category: string }[];
  subtotal: number;
  tax: number;
  shipping: number;
  discount: number;
  total: number;
  refunded: number;
  card: { brand: string; number: string };
  zip: string;
  address: { name: string; line1: string; city: string; postal_code: string };
  note: string | null;
  deleted: boolean;
}

export interface SandboxAccount {
  /** Short login name: "alice". */
  name: string;
  /** "acct_alice" — the OIDC subject and the API's account_id. */
  accountId: string;
  label: string;
  displayName: string;
  index: number;
}

export function makeAccounts(n: number): SandboxAccount[] {
  const out: SandboxAccount[] = [];
  for (let i = 0; i < n; i++) {
    const name = ACCOUNT_NAMES[i] ?? `user${i + 1}`;
    out.push({
      name,
      accountId: `acct_${name}`,
      label: `${name}@sandbox.example`,
      displayName: `${name[0]!.toUpperCase()}${name.slice(1)} Sandbox`,
      index: i,
    });
  }
  return out;
}

export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit avalanche mix (murmur3's finalizer): combines seed parts without correlation. */
export function mix32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const EXPONENT: Record<string, number> = { USD: 2, EUR: 2, GBP: 2, CAD: 2, JPY: 0, KWD: 3 };

/** Integer minor units → decimal string with exactly the currency's ISO 4217 exponent. */
export function formatAmount(minor: number, currency: string): string {
  const exp = EXPONENT[currency] ?? 2;
  const neg = minor < 0;
  const s = String(Math.abs(minor));
  if (exp === 0) return `${neg ? '-' : ''}${s}`;
  const padded = s.padStart(exp + 1, '0');
  return `${neg ? '-' : ''}${padded.slice(0, -exp)}.${padded.slice(-exp)}`;
}

/** US cents → minor units of `currency` (JPY rounded to 10 yen, KWD to 5 fils). */
function convert(usdCents: number, currency: string): number {
  const exp = EXPONENT[currency] ?? 2;
  const v = usdCents * (FX[currency] ?? 1) * 10 ** (exp - 2);
  if (currency === 'JPY') return Math.max(10, Math.round(v / 10) * 10);
  if (currency === 'KWD') return Math.max(5, Math.round(v / 5) * 5);
  return Math.max(1, Math.round(v));
}

const TOTAL_WEIGHT = RETAILERS.reduce((s, r) => s + r.weight, 0);
function pickRetailer(r: number): Retailer {
  let x = r * TOTAL_WEIGHT;
  for (const ret of RETAILERS) {
    x -= ret.weight;
    if (x < 0) return ret;
  }
  return RETAILERS[0]!;
}

function pick<T>(arr: readonly T[], r: number): T {
  return arr[Math.floor(r * arr.length) % arr.length]!;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function postalCode(kind: Retailer['postal'], r: number): string {
  const n = Math.floor(r * 90000) + 10000;
  switch (kind) {
    case 'uk':
      return `SW${(n % 9) + 1} ${(n % 8) + 1}AB`;
    case 'jp':
      return `${String(n).slice(0, 3)}-${String(n).slice(1, 5)}`;
    case 'ca':
      return `M${(n % 9) + 1}V ${(n % 7) + 1}T${(n % 5) + 1}`;
    default:
      return String(n);
  }
}

/** Card-number spellings found in free text: spaced, dashed, or plain. */
function spellCard(num: string, r: number): string {
  if (r < 0.34) return num.replace(/(\d{4})(?=\d)/g, '$1 ');
  if (r < 0.67) return num.replace(/(\d{4})(?=\d)/g, '$1-');
  return num;
}

export function orderId(account: SandboxAccount, index: number): string {
  return `SB-${account.name}-${String(index).padStart(6, '0')}`;
}

/** The first draws of an order's PRNG: enough to place it in time without building it. */
function drawTimes(rng: () => number): { placedMs: number; updatedMs: number; status: RawStatus } {
  const placedMs = SANDBOX_EPOCH_MS - HOUR - Math.floor(rng() * SPAN_MINUTES) * 60_000;
  const age = SANDBOX_EPOCH_MS - placedMs;
  const s = rng();
  let status: RawStatus;
  let delay: number;
  const d = rng();
  if (s < 0.025) [status, delay] = ['cancelled', d * DAY];
  else if (s < 0.05) [status, delay] = ['refunded', 10 * DAY + d * 30 * DAY];
  else if (s < 0.075) [status, delay] = ['partially_refunded', 10 * DAY + d * 30 * DAY];
  else if (age < 2 * DAY) [status, delay] = ['placed', d * 2 * HOUR];
  else if (age < 6 * DAY) [status, delay] = ['shipped', DAY + d * DAY];
  else [status, delay] = ['delivered', 2 * DAY + d * 8 * DAY];
  // Never later than the epoch; the millisecond jitter makes ties in updated_at rare.
  const updatedMs = placedMs + Math.min(Math.floor(delay), age - 1000) + Math.floor(rng() * 1000);
  return { placedMs, updatedMs, status };
}

export class OrderGenerator {
  constructor(readonly seed: number, readonly account: SandboxAccount) {}

  private rngFor(index: number): () => number {
    return mulberry32(mix32(this.seed, this.account.index + 1, index));
  }

  /** updated_at of the generated (unmodified) order, in ms. Cheap: four PRNG draws. */
  updatedMs(index: number): number {
    return drawTimes(this.rngFor(index)).updatedMs;
  }

  order(index: number): OrderState {
    const rng = this.rngFor(index);
    const { placedMs, updatedMs, status } = drawTimes(rng);
    const retailer = pickRetailer(rng());
    const cur = retailer.currency;
    const nItems = 1 + Math.floor(rng() ** 2 * 4);
    const items: OrderState['items'] = [];
    let subtotal = 0;
    let subtotalUsd = 0;
    for (let line = 0; line < nItems; line++) {
      const category = pick(retailer.categories, rng());
      const [baseName, cents] = pick(ITEMS[category] ?? ITEMS.Home!, rng());
      const usd = Math.round(cents * (0.85 + rng() * 0.3));
      const unit = convert(usd, cur);
      const qty = rng() < 0.75 ? 1 : 2 + Math.floor(rng() * 3);
      const sku = `${retailer.skuPrefix}-${String(fnv(`${retailer.name}|${baseName}`) % 100000).padStart(5, '0')}`;
      items.push({ name: baseName, sku, unit, qty, category });
      subtotal += unit * qty;
      subtotalUsd += usd * qty;
    }
    // ~0.5% of orders: a personalised item whose name carries a (Luhn-valid) card number.
    if (rng() < 0.005) {
      const it = items[0]!;
      it.name = `${it.name} (engraving: ${spellCard(pick(TEST_CARDS, rng()).number, rng())})`;
    }
    const tax = Math.round((subtotal * retailer.taxBp) / 10000);
    const shipping = subtotalUsd < retailer.freeShippingCents ? convert(retailer.shippingCents, cur) : 0;
    let discount = 0;
    if (rng() < 0.15) discount = Math.min(subtotal, Math.round(subtotal * (0.05 + Math.floor(rng() * 4) * 0.05)));
    const total = subtotal + tax + shipping - discount;
    let refunded = 0;
    if (status === 'refunded') refunded = total;
    else if (status === 'partially_refunded') refunded = Math.max(1, Math.min(total - 1, items[0]!.unit));
    const card = pick(TEST_CARDS, rng());
    const city = pick(CITIES[retailer.postal], rng());
    const postal = postalCode(retailer.postal, rng());
    const line1 = `${100 + Math.floor(rng() * 9800)} ${pick(STREETS, rng())}`;
    const nr = rng();
    let note: string | null = null;
    if (nr < 0.02) note = `paid with ${spellCard(pick(TEST_CARDS, rng()).number, rng())}`;
    else if (nr < 0.3) note = pick(NOTES, rng());
    return {
      index,
      id: orderId(this.account, index),
      retailer,
      placedMs,
      updatedMs,
      status,
      items,
      subtotal,
      tax,
      shipping,
      discount,
      total,
      refunded,
      card,
      zip: postal,
      address: { name: this.account.displayName, line1, city, postal_code: postal },
      note,
      deleted: false,
    };
  }
}

function localIso(ms: number, tzMinutes: number): string {
  const local = new Date(ms + tzMinutes * 60_000).toISOString().slice(0, 19);
  const sign = tzMinutes < 0 ? '-' : '+';
  const abs = Math.abs(tzMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function renderOrder(o: OrderState): RawOrder | RawTombstone {
  const updated_at = new Date(o.updatedMs).toISOString();
  if (o.deleted) return { id: o.id, deleted: true, updated_at };
  const cur = o.retailer.currency;
  const f = (n: number): string => formatAmount(n, cur);
  return {
    id: o.id,
    retailer: o.retailer.name,
    placed_at: localIso(o.placedMs, o.retailer.tzMinutes),
    updated_at,
    status: o.status,
    currency: cur,
    amounts: { subtotal: f(o.subtotal), tax: f(o.tax), shipping: f(o.shipping), discount: f(o.discount), total: f(o.total), refunded: f(o.refunded) },
    items: o.items.map((it, i) => ({ line: i + 1, name: it.name, sku: it.sku, unit_price: f(it.unit), quantity: it.qty, category: it.category })),
    payment: { card_brand: o.card.brand, last4: o.card.number.slice(-4), card_number: o.card.number, billing_zip: o.zip },
    shipping_address: { ...o.address },
    note: o.note,
  };
}
