/**
 * The Plaid replica's data: one Item's transaction history as an append-only log of updates
 * ("added", "modified", "removed"), in Plaid's order (ascending last-modified time). The first
 * `count` entries are the initial history, generated from (seed, item, index) on demand, so a
 * 100,000-transaction Item costs nothing until it is read; later changes (a pending charge that
 * posts, a new purchase, a corrected amount) are appended. A `/transactions/sync` cursor is a
 * position in this log, which is what makes "mutation during pagination" observable.
 *
 * Payloads carry everything Plaid's `Transaction` schema does, including the fields a client must
 * drop (payment_meta, location, account_owner, counterparties[].account_numbers, accounts' mask).
 */
import { createHash } from 'node:crypto';

export interface ReplicaTx {
  id: string;
  account: number;
  /** Minor units (cents); positive = money out. */
  cents: number;
  currency: string;
  date: string;
  datetime: string | null;
  merchant: number;
  pending: boolean;
  pendingTransactionId: string | null;
}

export type LogEntry = { kind: 'added' | 'modified'; tx: ReplicaTx } | { kind: 'removed'; id: string; account: number };

/** [bank text, merchant_name (null: only the bank text), PFC primary, PFC detailed, website]. */
const MERCHANTS: ReadonlyArray<readonly [string, string | null, string, string, string | null]> = [
  ['PURCHASE WM SUPERCENTER #1700', 'Walmart', 'GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_SUPERSTORES', 'walmart.com'],
  ['AMAZON MKTPL*2K4LR7', 'Amazon', 'GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_ONLINE_MARKETPLACES', 'amazon.com'],
  ['TARGET 00023481', 'Target', 'GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_SUPERSTORES', 'target.com'],
  ['Dd Doordash Burgerkin', 'Burger King', 'FOOD_AND_DRINK', 'FOOD_AND_DRINK_FAST_FOOD', 'burgerking.com'],
  ['STARBUCKS STORE 10293', 'Starbucks', 'FOOD_AND_DRINK', 'FOOD_AND_DRINK_COFFEE', 'starbucks.com'],
  ['ConEd Bill Payment', 'ConEd', 'RENT_AND_UTILITIES', 'RENT_AND_UTILITIES_GAS_AND_ELECTRICITY', 'coned.com'],
  ['COSTCO WHSE #0479', 'Costco', 'GENERAL_MERCHANDISE', 'GENERAL_MERCHANDISE_SUPERSTORES', 'costco.com'],
  ['Uber 063015 SF**POOL**', 'Uber', 'TRANSPORTATION', 'TRANSPORTATION_TAXIS_AND_RIDE_SHARES', 'uber.com'],
  // Bank text only, with a card number in it (a Luhn-valid test number): must never be stored.
  ['CHECKCARD 4111 1111 1111 1111 CORNER DELI', null, 'FOOD_AND_DRINK', 'FOOD_AND_DRINK_RESTAURANT', null],
  ['SQ *FARMERS MKT', null, 'FOOD_AND_DRINK', 'FOOD_AND_DRINK_GROCERIES', null],
];

export const ACCOUNTS = [
  { subtype: 'checking', type: 'depository', name: 'Plaid Checking', official: 'Plaid Gold Standard 0% Interest Checking', mask: '0000' },
  { subtype: 'credit card', type: 'credit', name: 'Plaid Credit Card', official: 'Plaid Diamond 12.5% APR Interest Credit Card', mask: '3333' },
] as const;

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** A Plaid-looking id (37 base62 characters), deterministic in its input. */
export function plaidId(input: string, length = 37): string {
  const h = createHash('sha256').update(input).digest();
  let s = '';
  for (let i = 0; s.length < length; i++) s += B62[h[i % h.length]! % 62]!;
  return s;
}

function rng(seedText: string): () => number {
  let a = createHash('sha1').update(seedText).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

export interface ItemDataOptions {
  seed: number;
  /** The Item's position among the replica's Items (its data differs per Item). */
  index: number;
  count: number;
  pending: number;
  /** The last day of the history (fixed, so data does not depend on today's date). */
  asOf: string;
}

export class ItemData {
  readonly accountIds: string[];
  private readonly extra: LogEntry[] = [];
  private created = 0;
  private readonly spanDays = 730;

  constructor(private readonly o: ItemDataOptions) {
    this.accountIds = ACCOUNTS.map((_, a) => plaidId(`acct:${o.seed}:${o.index}:${a}`));
  }

  get length(): number {
    return this.o.count + this.extra.length;
  }

  entry(pos: number): LogEntry {
    return pos < this.o.count ? { kind: 'added', tx: this.initial(pos) } : this.extra[pos - this.o.count]!;
  }

  /** The i-th transaction of the initial history: a pure function of (seed, item, i). */
  initial(i: number): ReplicaTx {
    const r = rng(`tx:${this.o.seed}:${this.o.index}:${i}`);
    const { count, pending } = this.o;
    const date = addDays(this.o.asOf, -Math.floor(((count - 1 - i) * this.spanDays) / Math.max(1, count)));
    return this.make(`tx:${this.o.seed}:${this.o.index}:${i}`, r, date, i >= count - pending);
  }

  private make(idSeed: string, r: () => number, date: string, pending: boolean): ReplicaTx {
    const refund = r() < 0.07;
    const cents = Math.round((r() ** 2 * 400 + 0.5) * 100) * (refund ? -1 : 1);
    const timed = r() < 0.7;
    const t = Math.floor(r() * 86_400);
    const time = `${String(Math.floor(t / 3600)).padStart(2, '0')}:${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
    return {
      id: plaidId(idSeed),
      account: r() < 0.6 ? 1 : 0,
      cents,
      currency: 'USD',
      date,
      datetime: timed ? `${date}T${time}Z` : null,
      merchant: Math.floor(r() * MERCHANTS.length),
      pending,
      pendingTransactionId: null,
    };
  }

  /** Every transaction as it stands now (the truth tests compare against). Reads the whole log. */
  live(): Map<string, ReplicaTx> {
    const m = new Map<string, ReplicaTx>();
    for (let p = 0; p < this.length; p++) {
      const e = this.entry(p);
      if (e.kind === 'removed') m.delete(e.id);
      else m.set(e.tx.id, e.tx);
    }
    return m;
  }

  /** Each pending charge posts: Plaid sends the pending id in `removed` and a new posted one in `added`. */
  postPending(): number {
    let n = 0;
    for (const tx of this.live().values()) {
      if (!tx.pending) continue;
      this.extra.push({ kind: 'removed', id: tx.id, account: tx.account });
      this.extra.push({ kind: 'added', tx: { ...tx, id: plaidId(`posted:${tx.id}`), pending: false, pendingTransactionId: tx.id, date: addDays(tx.date, 1) } });
      n++;
    }
    return n;
  }

  /** New purchases (pending ones when `pending`), dated on the last day of the history. */
  addNew(n: number, pending = false): ReplicaTx[] {
    const out: ReplicaTx[] = [];
    for (let k = 0; k < n; k++) {
      const idSeed = `new:${this.o.seed}:${this.o.index}:${this.created++}`;
      const tx = this.make(idSeed, rng(idSeed), this.o.asOf, pending);
      this.extra.push({ kind: 'added', tx });
      out.push(tx);
    }
    return out;
  }

  /** A corrected amount (e.g. a tip added): Plaid sends the transaction again in `modified`. */
  modify(id: string, cents: number): boolean {
    const tx = this.live().get(id);
    if (!tx) return false;
    this.extra.push({ kind: 'modified', tx: { ...tx, cents } });
    return true;
  }

  accountsJson(): unknown[] {
    return ACCOUNTS.map((a, i) => ({
      account_id: this.accountIds[i],
      balances: { available: 110.94, current: 110.94, iso_currency_code: 'USD', limit: a.type === 'credit' ? 2000 : null, unofficial_currency_code: null },
      mask: a.mask,
      name: a.name,
      official_name: a.official,
      subtype: a.subtype,
      type: a.type,
    }));
  }

  /** A transaction exactly as Plaid's `Transaction` schema has it (2020-09-14), payment fields included. */
  render(tx: ReplicaTx): Record<string, unknown> {
    const [name, merchantName, primary, detailed, website] = MERCHANTS[tx.merchant]!;
    const entity = merchantName ? plaidId(`entity:${merchantName}`) : null;
    return {
      account_id: this.accountIds[tx.account],
      account_owner: 'Alberta Bobbeth Charleson',
      amount: tx.cents / 100,
      iso_currency_code: tx.currency,
      unofficial_currency_code: null,
      category: null,
      category_id: null,
      check_number: null,
      counterparties: merchantName
        ? [{ name: merchantName, type: 'merchant', logo_url: null, website, entity_id: entity, confidence_level: 'VERY_HIGH', account_numbers: { bacs: { account: '31926819', sort_code: '601613' }, international: { iban: 'GB33BUKB20201555555555', bic: 'BUKBGB22' } } }]
        : [],
      date: tx.date,
      datetime: tx.datetime,
      authorized_date: tx.date,
      authorized_datetime: tx.datetime,
      location: { address: '13425 Community Rd', city: 'Poway', region: 'CA', postal_code: '92064', country: 'US', lat: 32.959068, lon: -117.037666, store_number: '1700' },
      name,
      merchant_name: merchantName,
      merchant_entity_id: entity,
      logo_url: null,
      website,
      payment_meta: { by_order_of: null, payee: 'Alberta Charleson', payer: null, payment_method: 'ACH', payment_processor: 'Dwolla', ppd_id: '1234567890', reason: null, reference_number: 'REF-8675309-4111' },
      payment_channel: merchantName ? 'in store' : 'other',
      pending: tx.pending,
      pending_transaction_id: tx.pendingTransactionId,
      personal_finance_category: { primary, detailed, confidence_level: 'VERY_HIGH' },
      personal_finance_category_icon_url: `https://plaid-category-icons.plaid.com/PFC_${primary}.png`,
      transaction_id: tx.id,
      transaction_code: null,
      transaction_type: merchantName ? 'place' : 'special',
      // Schemas grow: a field this client has never heard of.
      future_field_2027: { nested: true },
    };
  }
}
