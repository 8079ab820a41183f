/**
 * The Customer Account API's GraphQL surface, for the Shopify replica: a subset of the documented
 * schema (2026-04, `packages/hydrogen-react/customer-account.schema.json`; ../shared/CONNECTORS.md
 * §2.2–2.7) executed by graphql-js — real parsing, validation, variables and fragments, so a
 * query that Shopify would refuse is refused here too. Included on purpose: the payment and
 * personal fields (`transactions[].paymentDetails`, `giftCardDetails`, addresses, `email`,
 * `phone`, `statusPageUrl`) a connector must never store, with plausible values.
 *
 * Connections follow Relay (`first/after`, `last/before`, `pageInfo`, `nodes` and `edges`), with
 * opaque keyset cursors; `customer.orders` takes `sortKey`, `reverse` and a `query` in Shopify's
 * search syntax (`updated_at:>'2026-01-01T00:00:00Z'`, `processed_at:<=…`).
 */
import { buildSchema, GraphQLError, type GraphQLSchema } from 'graphql';
import type { ShopifyCustomer, ShopifyOrder } from './shopify-data.js';

export const SDL = /* GraphQL */ `
  scalar DateTime
  scalar Decimal
  scalar URL
  directive @inContext(language: LanguageCode, country: CountryCode) on QUERY | MUTATION
  enum LanguageCode { EN FR DE JA }
  enum CountryCode { US CA GB JP DE FR }
  enum CurrencyCode { USD CAD EUR GBP JPY KWD }
  enum OrderSortKeys { CREATED_AT ID ORDER_NUMBER PROCESSED_AT TOTAL_PRICE UPDATED_AT }
  enum OrderFinancialStatus { AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED }
  enum OrderFulfillmentStatus { FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT RESTOCKED SCHEDULED UNFULFILLED }
  type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type Shop { id: ID! name: String! url: URL! }
  type CustomerEmailAddress { emailAddress: String }
  type CustomerPhoneNumber { phoneNumber: String! }
  type CustomerAddress { name: String address1: String address2: String city: String zip: String country: String phoneNumber: String formatted(withName: Boolean = false): [String!]! formattedArea: String }
  type CardPaymentDetails { cardBrand: String! last4: String }
  type AchPaymentDetails { bankName: String last4: String }
  union PaymentDetails = CardPaymentDetails | AchPaymentDetails
  type GiftCardDetails { last4: String! balance: MoneyV2! }
  type OrderTransaction { id: ID! kind: String! status: String! transactionAmount: MoneyV2! paymentDetails: PaymentDetails giftCardDetails: GiftCardDetails paymentIcon: String }
  type LineItem { id: ID! name: String! title: String! sku: String quantity: Int! productType: String vendor: String variantTitle: String price: MoneyV2 totalPrice: MoneyV2 }
  type LineItemEdge { cursor: String! node: LineItem! }
  type LineItemConnection { nodes: [LineItem!]! edges: [LineItemEdge!]! pageInfo: PageInfo! }
  type Order {
    id: ID! name: String! number: Int! confirmationNumber: String processedAt: DateTime! createdAt: DateTime! updatedAt: DateTime!
    cancelledAt: DateTime currencyCode: CurrencyCode! financialStatus: OrderFinancialStatus fulfillmentStatus: OrderFulfillmentStatus!
    subtotal: MoneyV2 totalTax: MoneyV2 totalShipping: MoneyV2! totalPrice: MoneyV2! totalRefunded: MoneyV2!
    email: String phone: String statusPageUrl: URL! billingAddress: CustomerAddress shippingAddress: CustomerAddress
    transactions: [OrderTransaction!]!
    lineItems(first: Int, after: String, last: Int, before: String): LineItemConnection!
  }
  type OrderEdge { cursor: String! node: Order! }
  type OrderConnection { nodes: [Order!]! edges: [OrderEdge!]! pageInfo: PageInfo! }
  type Customer {
    id: ID! displayName: String! emailAddress: CustomerEmailAddress phoneNumber: CustomerPhoneNumber
    orders(first: Int, after: String, last: Int, before: String, query: String, reverse: Boolean = false, sortKey: OrderSortKeys = ID): OrderConnection!
  }
  type Query { customer: Customer! order(id: ID!): Order shop: Shop! }
`;

/** Shopify caps connection sizes at 250 (the value used across its GraphQL APIs). */
export const MAX_PAGE = 250;

let schema: GraphQLSchema | undefined;
export function customerSchema(): GraphQLSchema {
  return (schema ??= buildSchema(SDL));
}

type ConnArgs = { first?: number | null; after?: string | null; last?: number | null; before?: string | null };

const encode = (key: unknown[]): string => Buffer.from(JSON.stringify(key)).toString('base64url');
function decode(cursor: string): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v)) return v;
  } catch {
    /* below */
  }
  throw new GraphQLError('Invalid cursor.', { extensions: { code: 'BAD_REQUEST' } });
}

/** Relay pagination over an already sorted list, with keyset cursors made by keyOf. */
export function connection<T>(all: T[], args: ConnArgs, keyOf: (t: T) => unknown[]) {
  if (args.first != null && args.last != null) throw new GraphQLError('Passing both `first` and `last` is not supported.', { extensions: { code: 'BAD_REQUEST' } });
  const n = args.first ?? args.last;
  if (n == null) throw new GraphQLError('You must provide one of first or last.', { extensions: { code: 'BAD_REQUEST' } });
  if (n < 0 || n > MAX_PAGE) throw new GraphQLError(`The value of first/last must be between 0 and ${MAX_PAGE}.`, { extensions: { code: 'BAD_REQUEST' } });
  const pos = (c: string) => {
    const k = JSON.stringify(decode(c));
    return all.findIndex((t) => JSON.stringify(keyOf(t)) === k);
  };
  let start = 0;
  let end = all.length;
  if (args.after) start = pos(args.after) + 1;
  if (args.before) end = Math.max(0, pos(args.before));
  let slice = all.slice(start, end);
  const more = slice.length > n;
  slice = args.first != null ? slice.slice(0, n) : slice.slice(Math.max(0, slice.length - n));
  const edges = slice.map((node) => ({ cursor: encode(keyOf(node)), node }));
  return {
    nodes: slice,
    edges,
    pageInfo: {
      hasNextPage: args.first != null ? more : end < all.length,
      hasPreviousPage: args.last != null ? more : start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

const SORT_FIELD: Record<string, (o: ShopifyOrder) => string | number> = {
  CREATED_AT: (o) => o.createdAt,
  ID: (o) => o.number,
  ORDER_NUMBER: (o) => o.number,
  PROCESSED_AT: (o) => o.processedAt,
  TOTAL_PRICE: (o) => Number(o.totalPrice.amount),
  UPDATED_AT: (o) => o.updatedAt,
};
const FILTER_FIELD: Record<string, keyof ShopifyOrder> = { updated_at: 'updatedAt', processed_at: 'processedAt', created_at: 'createdAt' };

/** Shopify search syntax, the date comparisons only: `updated_at:>'…'` (quotes optional), AND-ed. */
export function filterOrders(orders: ShopifyOrder[], query: string | null | undefined): ShopifyOrder[] {
  if (!query) return orders;
  const terms = [...query.matchAll(/([a-z_]+):(>=|<=|>|<)?'?([^'\s]+)'?/g)];
  return orders.filter((o) =>
    terms.every(([, field, op = '', value]) => {
      const key = FILTER_FIELD[field!];
      if (!key) return true; // other filters (name, confirmation_number…) are not modelled: no narrowing
      const a = Date.parse(String(o[key]));
      const b = Date.parse(value!);
      if (Number.isNaN(b)) throw new GraphQLError(`Invalid date in query: ${value!.slice(0, 40)}`, { extensions: { code: 'BAD_REQUEST' } });
      return op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : op === '<=' ? a <= b : a === b;
    }),
  );
}

/** The root value for one authenticated customer. */
export function rootFor(customer: ShopifyCustomer, shop: { id: string; name: string; url: string }, ordersOf: () => ShopifyOrder[]) {
  const withLines = (o: ShopifyOrder) => ({
    ...o,
    lineItems: (args: ConnArgs) => connection(o.lineItems, args, (l) => [l.id]),
  });
  return {
    shop: () => shop,
    order: ({ id }: { id: string }) => {
      const o = ordersOf().find((x) => x.id === id);
      return o ? withLines(o) : null;
    },
    customer: () => ({
      id: customer.id,
      displayName: customer.displayName,
      emailAddress: { emailAddress: customer.email },
      phoneNumber: { phoneNumber: customer.phone },
      orders: (args: ConnArgs & { query?: string | null; reverse?: boolean; sortKey?: string }) => {
        const key = SORT_FIELD[args.sortKey ?? 'ID']!;
        const sorted = filterOrders(ordersOf(), args.query).sort((a, b) => {
          const x = key(a);
          const y = key(b);
          return x < y ? -1 : x > y ? 1 : a.number - b.number;
        });
        if (args.reverse) sorted.reverse();
        const page = connection(sorted, args, (o) => [key(o), o.number]);
        return { ...page, nodes: page.nodes.map(withLines), edges: page.edges.map((e) => ({ cursor: e.cursor, node: withLines(e.node) })) };
      },
    }),
  };
}
