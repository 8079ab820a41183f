/**
 * What orderlink reads from a Knot TransactionLink transaction (CONNECTORS.md §4.4), and nothing
 * more: the allow-list below is the whole of it. `payment_methods` (card brand, last four, the
 * person's label for the card), `shipping.location` (name and address), `url`, product URLs,
 * images, sellers and descriptions are never listed, so the policy layer drops them before
 * validation (SECURITY.md rule 24).
 *
 * Knot sends amounts as decimal strings in its docs and as numbers in some real data, mixed in one
 * file (fixtures README trap 8); both are accepted here and turned into exact minor units by
 * money.ts, never through float arithmetic on strings.
 */
import { z } from 'zod';

/** "12.56", "-4.37", or a JSON number such as 12.56. */
export const amount = z.union([
  z.string().regex(/^\s*[+-]?\d+(\.\d+)?\s*$/, 'a decimal amount'),
  z.number().finite(),
]);

/**
 * `+00:00`, `Z`, or no zone at all with microseconds (trap 19). Knot documents `datetime` as UTC,
 * so a value without a zone is read as UTC — never as the machine's local time.
 */
export const KNOT_DATETIME = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(?::(\d\d))?(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/;
export const datetime = z.string().regex(KNOT_DATETIME, 'an ISO 8601 date-time').refine((s) => !Number.isNaN(Date.parse(toUtcIso(s))), 'a real date');

export function toUtcIso(s: string): string {
  const m = KNOT_DATETIME.exec(s);
  if (!m) return 'invalid';
  const [, date, hm, sec = '00', frac = '', zone = 'Z'] = m;
  const ms = frac.padEnd(3, '0').slice(0, 3);
  const z = zone === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return new Date(`${date}T${hm}:${sec}.${ms}${z}`).toISOString();
}

const adjustment = z.object({
  // DISCOUNT, TAX, TIP, FEE, REFUND, UNRECOGNIZED — and whatever a later API version adds.
  type: z.string().min(1).max(40),
  amount,
});

const product = z.object({
  name: z.string().min(1),
  external_id: z.string().nullable().optional(),
  quantity: z.number().int().nonnegative(),
  price: z
    .object({
      unit_price: amount.nullable().optional(),
      sub_total: amount.nullable().optional(),
      total: amount.nullable().optional(),
    })
    .nullable()
    .optional(),
});

export const knotTransaction = z.object({
  id: z.string().min(1).max(128),
  external_id: z.string().nullable().optional(),
  datetime,
  // Enum values differ across doc versions (RETURNED appears in one only): any string is accepted.
  order_status: z.string().max(40).nullable().optional(),
  price: z.object({
    sub_total: amount.nullable().optional(),
    total: amount,
    currency: z.string().regex(/^[A-Za-z]{3}$/).nullable().optional(),
    adjustments: z.array(adjustment).nullable().optional(),
  }),
  products: z.array(product).nullable().optional(),
  /** The page's `merchant`, copied onto each record by fetchOrders (a transaction does not name its merchant). */
  merchant: z.object({ id: z.number().int().optional(), name: z.string().min(1) }),
});
export type KnotTransaction = z.infer<typeof knotTransaction>;

/** The allow-list (dotted paths, `[]` for arrays): everything else in a transaction is dropped. */
export const KNOT_ALLOW_LIST = [
  'id', 'external_id', 'datetime', 'order_status',
  'price.sub_total', 'price.total', 'price.currency', 'price.adjustments[].type', 'price.adjustments[].amount',
  'products[].name', 'products[].external_id', 'products[].quantity',
  'products[].price.unit_price', 'products[].price.sub_total', 'products[].price.total',
  'merchant.id', 'merchant.name',
] as const;

/** Free text scrubbed for Luhn-valid digit runs after the allow-list. */
export const KNOT_FREE_TEXT = ['products[].name', 'products[].external_id', 'merchant.name', 'external_id'] as const;

/**
 * The stored checkpoint. `next` is Knot's opaque `next_cursor` while paging. When Knot says the
 * feed is drained (`next_cursor: null`), `resume` keeps the cursor that fetched the last page, so
 * the next sync asks for that page again (idempotent upserts) and whatever came after it.
 */
export const knotCursor = z.object({ next: z.string().max(4096).nullable(), resume: z.string().max(4096).nullable() });
export type KnotCursor = z.infer<typeof knotCursor>;

/** One `/transactions/sync` page; unknown keys are ignored. */
export const syncPage = z.object({
  merchant: z.object({ id: z.number().int().optional(), name: z.string().min(1).max(200) }).passthrough(),
  transactions: z.array(z.unknown()).max(1000),
  next_cursor: z.string().max(4096).nullable(),
});
