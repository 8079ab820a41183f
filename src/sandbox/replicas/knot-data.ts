/**
 * The Knot replica's data: deterministic transactions in the documented shape (CONNECTORS.md
 * §4.4, the recorded examples in ../shared/fixtures/realworld/knot/), generated from (seed,
 * external_user_id, merchant, index) on demand, so 50,000 cost nothing until they are paged.
 *
 * Deliberately awkward, as real payloads are: amounts as strings with the occasional transaction
 * whose amounts are JSON numbers (trap 8), `+00:00` dates next to zone-less ones with
 * microseconds (trap 19), product ids with suffixes (trap 17), unknown statuses (trap 22), split
 * tender (trap 16), and every payment and address field a connector must drop.
 */
import { createHash } from 'node:crypto';

export interface ReplicaMerchant {
  id: number;
  name: string;
  category: string;
}

/** Replica-only ids except DoorDash 19 (the one Knot's docs agree on); connectors look ids up via /merchant/list. */
export const MERCHANTS: readonly ReplicaMerchant[] = [
  { id: 19, name: 'DoorDash', category: 'Food Delivery' },
  { id: 44, name: 'Amazon', category: 'Shopping' },
  { id: 45, name: 'Walmart', category: 'Shopping' },
  { id: 12, name: 'Target', category: 'Shopping' },
  { id: 2125, name: "Macy's", category: 'Shopping' },
  { id: 10, name: 'Uber', category: 'Rideshare' },
  { id: 36, name: 'Uber Eats', category: 'Food Delivery' },
  { id: 41, name: 'Gopuff', category: 'Grocery' },
];

const PRODUCTS: ReadonlyArray<readonly [string, string, number]> = [
  ['Great Value Turkey Flavored Stuffing Mix', '10315643', 256],
  ['Band-Aid Adhesive Bandages Variety Pack', '10315643-2', 1256],
  ['Dixie Ultra 8-12 Paper Plate, 240-count', '1031891', 814],
  ["4Pairs Men's Elite Sports Socks Athletic Crew Socks", '1038973_B', 2299],
  ['Organic Bananas, 2 lb', '44390948', 178],
  ['Paper Towels, 6 Double Rolls', '987654321-NEW', 1297],
  ['Wireless Earbuds', 'B0CHX1W1XY', 4999],
  ['Cotton Crew T-Shirt, Navy', '7781-22-M', 1200],
  ['LED Desk Lamp', '55012', 3450],
  ['Sparkling Water 12-pack', '3300012', 599],
  ['Gift card 4111 1111 1111 1111', 'GC-25', 2500],
];

const STATUSES = ['COMPLETED', 'DELIVERED', 'SHIPPED', 'ORDERED', 'BILLED', 'PICKED_UP', 'REFUNDED', 'CANCELLED', 'RETURNED', 'FAILED', 'UNRECOGNIZED', 'ON_HOLD'];
const BRANDS = ['VISA', 'MASTERCARD', 'AMEX', 'DISCOVER'];

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer cents → "12.56" (no float arithmetic). */
export function cents(c: number): string {
  const s = c < 0 ? '-' : '';
  const a = Math.abs(c);
  return `${s}${Math.trunc(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

export function transactionKey(seed: number, user: string, merchantId: number, index: number): Buffer {
  return createHash('sha256').update(`${seed}|${user}|${merchantId}|${index}`).digest();
}

export function transactionId(key: Buffer): string {
  const h = key.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const EPOCH = Date.UTC(2023, 0, 1);
const SPAN = 3 * 365 * 86_400_000;

/** One transaction in Knot's documented shape, payment and address fields included. */
export function makeTransaction(seed: number, user: string, merchant: ReplicaMerchant, index: number): Record<string, unknown> {
  const key = transactionKey(seed, user, merchant.id, index);
  const r = rng(key.readUInt32LE(0));
  const asNumbers = r() < 0.03; // the odd transaction whose amounts are JSON numbers (trap 8)
  const amt = (c: number): string | number => (asNumbers ? Number(cents(c)) : cents(c));
  const when = new Date(EPOCH + Math.floor(r() * SPAN));
  const iso = when.toISOString();
  const datetime = r() < 0.25 ? `${iso.slice(0, 19)}.${iso.slice(20, 23)}${String(Math.floor(r() * 1000)).padStart(3, '0')}` : `${iso.slice(0, 19)}+00:00`;
  const nProducts = 1 + Math.floor(r() * 4);
  const products = [];
  let sub = 0;
  for (let p = 0; p < nProducts; p++) {
    // Every 50th transaction carries a Luhn-valid card number in a product name (H18).
    const [name, sku, base] = PRODUCTS[index % 50 === 7 && p === 0 ? PRODUCTS.length - 1 : Math.floor(r() * (PRODUCTS.length - 1))]!;
    const qty = 1 + Math.floor(r() * 3);
    const unit = base + Math.floor(r() * 200);
    sub += unit * qty;
    products.push({
      external_id: sku,
      name,
      description: `${name} — sold by ${merchant.name}.`,
      url: `https://www.example.com/ip/${sku}`,
      image_url: `https://storage.example.com/txn-product-images/${sku}.jpg`,
      quantity: qty,
      price: { sub_total: amt(unit * qty), total: amt(unit * qty), unit_price: amt(unit) },
      seller: r() < 0.2 ? { name: 'Marketplace Seller LLC' } : null,
      eligibility: r() < 0.2 ? ['FSA/HSA'] : [],
    });
  }
  const tax = Math.round((sub * 8) / 100);
  const adjustments: Array<{ type: string; label: string; amount: string | number }> = [{ type: 'TAX', label: 'Sales tax', amount: amt(tax) }];
  let total = sub + tax;
  if (r() < 0.2) {
    const d = Math.min(sub, 100 + Math.floor(r() * 500));
    adjustments.push({ type: 'DISCOUNT', label: 'Promo', amount: amt(-d) });
    total -= d;
  }
  if (r() < 0.15) {
    const fee = 199 + Math.floor(r() * 400);
    adjustments.push({ type: 'FEE', label: 'Delivery fee', amount: amt(fee) });
    total += fee;
  }
  const split = r() < 0.15 ? Math.min(total, 2000) : 0;
  const card = (last: string, share: number, type = 'CARD') => ({
    external_id: key.toString('hex').slice(32, 46),
    type,
    brand: BRANDS[key[5]! % BRANDS.length],
    last_four: last,
    name: "Ada's credit card",
    transaction_amount: amt(share),
  });
  const payment_methods = split ? [card('5690', total - split), card('1802', split, 'GIFT_CARD')] : [card(String(1000 + (key[6]! << 2)), total)];
  return {
    id: transactionId(key),
    external_id: key.toString('hex').slice(40, 52),
    datetime,
    url: `https://www.example.com/orders/${key.readUInt32LE(8)}`,
    order_status: STATUSES[Math.floor(r() * STATUSES.length)],
    shipping: {
      location: {
        address: { line1: '123 Main St', line2: 'Floor 4', city: 'Los Angeles', region: 'CA', postal_code: '94105', country: 'US' },
        first_name: 'Ada',
        last_name: 'Lovelace',
      },
    },
    payment_methods,
    price: { sub_total: amt(sub), adjustments, total: amt(total), currency: 'USD' },
    products,
  };
}
