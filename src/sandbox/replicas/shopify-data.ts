/**
 * Deterministic data for the Shopify replica: customers of one shop and their orders, shaped as
 * the Customer Account API's `Order` (../shared/CONNECTORS.md §2.4, §2.5: `MoneyV2` amounts as
 * decimal strings, GIDs as ids, `#1001` names). Same seed → same orders. One order per customer
 * has more line items than one nested page (60), to exercise `lineItems` pagination; some are
 * in JPY (no decimals), some refunded, one cancelled; every order carries the payment and
 * personal fields a connector must drop.
 */
export interface Money {
  amount: string;
  currencyCode: string;
}
export interface ShopifyLineItem {
  id: string;
  name: string;
  title: string;
  sku: string | null;
  quantity: number;
  productType: string | null;
  vendor: string;
  variantTitle: string | null;
  price: Money;
  totalPrice: Money;
}
export interface ShopifyOrder {
  id: string;
  name: string;
  number: number;
  confirmationNumber: string;
  processedAt: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  currencyCode: string;
  financialStatus: string;
  fulfillmentStatus: string;
  subtotal: Money;
  totalTax: Money;
  totalShipping: Money;
  totalPrice: Money;
  totalRefunded: Money;
  email: string;
  phone: string;
  statusPageUrl: string;
  billingAddress: unknown;
  shippingAddress: unknown;
  transactions: unknown[];
  lineItems: ShopifyLineItem[];
}
export interface ShopifyCustomer {
  id: string;
  name: string;
  displayName: string;
  email: string;
  phone: string;
}

const PRODUCTS: Array<[string, string, number]> = [
  ['Ceramic Pour-Over', 'Kitchen', 3400],
  ['Organic Coffee Beans 1kg', 'Grocery', 2899],
  ['Linen Apron', 'Kitchen', 4500],
  ['Wool Socks', 'Apparel', 1800],
  ['Notebook A5', 'Stationery', 1250],
  ['Enamel Mug', 'Kitchen', 2200],
];

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Minor units → the decimal string Shopify sends ("29.99", "1200" for JPY). */
export function decimal(minor: number, currency: string): string {
  const exp = currency === 'JPY' ? 0 : currency === 'KWD' ? 3 : 2;
  if (exp === 0) return String(minor);
  const neg = minor < 0 ? '-' : '';
  const s = String(Math.abs(minor)).padStart(exp + 1, '0');
  return `${neg}${s.slice(0, -exp)}.${s.slice(-exp)}`;
}
const money = (minor: number, currencyCode: string): Money => ({ amount: decimal(minor, currencyCode), currencyCode });

const address = (name: string) => ({
  name,
  address1: '1 Private Lane',
  address2: null,
  city: 'Springfield',
  zip: '99999',
  country: 'US',
  phoneNumber: '+1 555 0100',
  formatted: ({ withName }: { withName?: boolean }) => [...(withName ? [name] : []), '1 Private Lane', 'Springfield 99999', 'United States'],
  formattedArea: 'Springfield, United States',
});

export function makeCustomers(n: number): ShopifyCustomer[] {
  const names = ['alice', 'bob', 'carol', 'dave'];
  return Array.from({ length: n }, (_, i) => {
    const name = names[i] ?? `customer${i + 1}`;
    return { id: `gid://shopify/Customer/${7001 + i}`, name, displayName: name[0]!.toUpperCase() + name.slice(1), email: `${name}@customers.example`, phone: `+1555010${i}` };
  });
}

const EPOCH = Date.UTC(2026, 0, 5, 15, 0, 0);

export function makeOrders(customer: ShopifyCustomer, index: number, count: number, seed: number, shopDomain: string): ShopifyOrder[] {
  const r = rng(seed * 7919 + index * 104729 + 17);
  const out: ShopifyOrder[] = [];
  for (let k = 0; k < count; k++) {
    const number = 1001 + index * 10_000 + k;
    const currency = k % 7 === 3 ? 'JPY' : 'USD';
    const scale = currency === 'JPY' ? 1.5 : 1; // ¥ amounts: whole yen
    const lines = k === 2 ? 60 : 1 + Math.floor(r() * 4);
    const items: ShopifyLineItem[] = [];
    let subtotal = 0;
    for (let l = 0; l < lines; l++) {
      const [title, type, base] = PRODUCTS[Math.floor(r() * PRODUCTS.length)]!;
      const unit = currency === 'JPY' ? Math.round((base * scale) / 100) * 10 : base;
      const qty = 1 + Math.floor(r() * 3);
      subtotal += unit * qty;
      items.push({
        id: `gid://shopify/LineItem/${number}${String(l + 1).padStart(3, '0')}`,
        name: `${title}${l % 5 === 4 ? ' - Large' : ''}`,
        title,
        sku: l % 6 === 5 ? null : `SKU-${type.slice(0, 3).toUpperCase()}-${(base % 97) + l}`,
        quantity: qty,
        productType: type,
        vendor: 'Replica Goods',
        variantTitle: l % 5 === 4 ? 'Large' : null,
        price: money(unit, currency),
        totalPrice: money(unit * qty, currency),
      });
    }
    const tax = Math.round(subtotal * 0.08);
    const shipping = currency === 'JPY' ? 500 : k % 3 === 0 ? 0 : 599;
    const total = subtotal + tax + shipping;
    const processed = new Date(EPOCH + k * 86_400_000 * 2 + Math.floor(r() * 36_000_000));
    const refunded = k % 9 === 5 ? total : k % 11 === 7 ? Math.round(total / 4) : 0;
    const cancelled = k === 8;
    out.push({
      id: `gid://shopify/Order/${number}`,
      name: `#${number}`,
      number,
      confirmationNumber: `C${(number * 7).toString(36).toUpperCase()}`,
      processedAt: processed.toISOString().replace('.000Z', 'Z'),
      createdAt: processed.toISOString().replace('.000Z', 'Z'),
      updatedAt: new Date(processed.getTime() + 3_600_000).toISOString().replace('.000Z', 'Z'),
      cancelledAt: cancelled ? new Date(processed.getTime() + 7_200_000).toISOString().replace('.000Z', 'Z') : null,
      currencyCode: currency,
      financialStatus: refunded === total ? 'REFUNDED' : refunded ? 'PARTIALLY_REFUNDED' : cancelled ? 'VOIDED' : 'PAID',
      fulfillmentStatus: cancelled ? 'UNFULFILLED' : k % 4 === 0 ? 'UNFULFILLED' : 'FULFILLED',
      subtotal: money(subtotal, currency),
      totalTax: money(tax, currency),
      totalShipping: money(shipping, currency),
      totalPrice: money(total, currency),
      totalRefunded: money(refunded, currency),
      email: customer.email,
      phone: customer.phone,
      statusPageUrl: `https://${shopDomain}/account/orders/${number}?key=private-status-key-${number}`,
      billingAddress: address(customer.displayName),
      shippingAddress: address(customer.displayName),
      transactions: [
        {
          id: `gid://shopify/OrderTransaction/${number}1`,
          kind: 'SALE',
          status: 'SUCCESS',
          transactionAmount: money(total, currency),
          paymentDetails: k % 2 === 0 ? { __typename: 'CardPaymentDetails', cardBrand: 'visa', last4: '4242' } : { __typename: 'AchPaymentDetails', bankName: 'Replica Bank', last4: '6789' },
          giftCardDetails: k % 5 === 1 ? { last4: '1111', balance: money(500, currency) } : null,
          paymentIcon: 'visa',
        },
      ],
      lineItems: items,
    });
  }
  return out;
}

/** A provider-side change: refund an order in full and add a new one; both get a fresh updatedAt. */
export function advanceOrders(orders: ShopifyOrder[], step: number, customer: ShopifyCustomer, index: number, seed: number, shopDomain: string): void {
  const now = new Date(Date.UTC(2027, 0, 1) + step * 3_600_000).toISOString().replace('.000Z', 'Z');
  const target = orders.find((o) => o.financialStatus === 'PAID');
  if (target) {
    target.financialStatus = 'REFUNDED';
    target.totalRefunded = { ...target.totalPrice };
    target.updatedAt = now;
  }
  const [fresh] = makeOrders(customer, index, 1, seed + 1000 + step, shopDomain);
  const number = 1001 + index * 10_000 + 5000 + step;
  fresh!.id = `gid://shopify/Order/${number}`;
  fresh!.name = `#${number}`;
  fresh!.number = number;
  fresh!.processedAt = fresh!.createdAt = fresh!.updatedAt = now;
  fresh!.lineItems.forEach((l, i) => (l.id = `gid://shopify/LineItem/${number}${String(i + 1).padStart(3, '0')}`));
  orders.push(fresh!);
}
