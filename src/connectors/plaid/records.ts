/**
 * One Plaid transaction (`Transaction` in plaid-openapi 2020-09-14) → a NormalizedCharge, or a
 * `removed[]` entry → its removal. Only the fields below are read; the allow-list drops the rest
 * before validation: `payment_meta`, `location`, `account_owner`, `counterparties[].account_numbers`,
 * accounts' `mask`/`name`/balances, `original_description` never reach the schema or the store.
 *
 * Traps handled (../shared/fixtures/realworld/README.md): amounts are JSON numbers in major units,
 * positive = money out (8, 10); `date` is a bare calendar date and `datetime` may be null (19);
 * schemas grow, so unknown keys are ignored (21); exactly one of iso/unofficial currency is set.
 */
import { z } from 'zod';
import { toMinorUnits } from '../money.js';
import type { ChargeChange } from '../types.js';

/** Marker the connector puts on entries of `removed[]` (the provider's shape has no such field). */
export const REMOVED = '_removed';

const calendarDate = z.string().regex(/^\d{4}-\d\d-\d\d$/, 'a calendar date (YYYY-MM-DD)');
const isoDateTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date-time');
const text = z.string().max(1024);

const liveTransaction = z.object({
  transaction_id: z.string().min(1).max(256),
  account_id: z.string().min(1).max(256),
  amount: z.number().finite(),
  iso_currency_code: z.string().nullable().optional(),
  unofficial_currency_code: z.string().nullable().optional(),
  date: calendarDate,
  datetime: isoDateTime.nullable().optional(),
  authorized_date: calendarDate.nullable().optional(),
  merchant_name: text.nullable().optional(),
  name: text.nullable().optional(),
  counterparties: z.array(z.object({ name: text.nullable().optional(), type: z.string().nullable().optional() })).nullable().optional(),
  pending: z.boolean(),
  pending_transaction_id: z.string().max(256).nullable().optional(),
  personal_finance_category: z.object({ primary: z.string().nullable().optional(), detailed: z.string().nullable().optional() }).nullable().optional(),
  category: z.array(z.string()).nullable().optional(),
});

const removedTransaction = z.object({
  [REMOVED]: z.literal(true),
  transaction_id: z.string().min(1).max(256),
  account_id: z.string().max(256).nullable().optional(),
});

export const plaidRecord = z.union([removedTransaction, liveTransaction.refine((t) => Boolean(t.iso_currency_code ?? t.unofficial_currency_code), { message: 'neither iso_currency_code nor unofficial_currency_code is set', path: ['iso_currency_code'] })]);
export type PlaidRecord = z.infer<typeof plaidRecord>;

/** The raw fields read (dotted paths): everything else is dropped at the door (rule 24). */
export const ALLOW_LIST = [
  REMOVED, 'transaction_id', 'account_id', 'amount', 'iso_currency_code', 'unofficial_currency_code', 'date', 'datetime', 'authorized_date',
  'merchant_name', 'name', 'counterparties[].name', 'counterparties[].type', 'pending', 'pending_transaction_id',
  'personal_finance_category.primary', 'personal_finance_category.detailed', 'category[]',
] as const;

/** Bank-written text that may carry a card or reference number: scrubbed (Luhn) after the allow-list. */
export const FREE_TEXT = ['merchant_name', 'name', 'counterparties[].name'] as const;

function merchantOf(t: z.infer<typeof liveTransaction>): string {
  const fromParty = t.counterparties?.find((c) => c.type === 'merchant' && c.name)?.name;
  return (t.merchant_name ?? fromParty ?? t.name ?? '').trim() || '(unknown merchant)';
}

/** Pure: a validated record → a charge or its removal. */
export function toCharge(raw: PlaidRecord): ChargeChange {
  if (REMOVED in raw) return { transactionId: raw.transaction_id, removed: true };
  const t = raw as z.infer<typeof liveTransaction>;
  const currency = (t.iso_currency_code ?? t.unofficial_currency_code)!.toUpperCase();
  return {
    transactionId: t.transaction_id,
    accountId: t.account_id,
    date: t.date,
    datetime: t.datetime ? new Date(t.datetime).toISOString() : null,
    merchant: merchantOf(t),
    amount: toMinorUnits(t.amount, currency),
    currency,
    pending: t.pending,
    category: t.personal_finance_category?.primary ?? t.category?.[0] ?? null,
    pendingTransactionId: t.pending_transaction_id ?? null,
  };
}

/** A `/transactions/sync` page → raw records in the order Plaid says to apply them: added, modified, removed. */
export function pageRecords(body: { added: unknown[]; modified: unknown[]; removed: unknown[] }): unknown[] {
  const removed = body.removed.map((r) => (r && typeof r === 'object' ? { ...(r as object), [REMOVED]: true } : r));
  return [...body.added, ...body.modified, ...removed];
}
