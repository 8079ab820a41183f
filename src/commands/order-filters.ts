/**
 * The order filters `orders`, `orders stats` and `export` share: their flags (declared once), the
 * parsing of each (usage errors at parse time, before anything is opened), and the typed options
 * turned into a store filter (dates resolved against ctx.now(), connections resolved by name).
 */
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { isKnownCurrency } from '../connectors/money.js';
import { ORDER_STATUSES as STATUSES } from '../domain.js';
import { usageError } from '../errors.js';
import type { OrderFilter } from '../store/index.js';
import { ftsQuery } from '../store/queries.js';
import { parseDateFlag } from './options.js';

/** Filters shared by `orders` and `orders stats`; dates stay as typed until run time (ctx.now()). */
export interface FilterOptions {
  connection?: string[];
  /** Any of these retailers (the repeatable flag gives a list; one string still works). */
  retailer?: string | string[];
  since?: string;
  until?: string;
  currency?: string;
  status?: string[];
  /** Orders with an item in any of these categories (a list, or one string). */
  category?: string | string[];
  /** Major units of each order's currency. */
  min?: number;
  max?: number;
  search?: string;
}


export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];


/** "10", "99.5", "12.345": an amount in major units, at most 4 decimals (ISO 4217's largest). */
export function parseAmount(v: string, flag: string): number {
  if (!/^\d{1,12}(\.\d{1,4})?$/.test(v.trim())) {
    throw usageError('BAD_AMOUNT', `${flag} expects an amount in the order's currency, like 10 or 99.50, got "${v.slice(0, 20)}"`);
  }
  return Number(v.trim());
}

export function parseStatuses(v: string): string[] {
  const list = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (list.length === 0 || bad.length) throw usageError('BAD_OPTION', `--status takes ${STATUSES.join(', ')} (comma-separated), got "${v.slice(0, 40)}"`);
  return list;
}

/** Shape only here; whether the code exists (ISO 4217, or in this database) is checked in buildFilter. */
export function parseCurrency(v: string): string {
  const c = v.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(c)) throw usageError('BAD_CURRENCY', `--currency expects an ISO 4217 code like USD, EUR or JPY, got "${v.slice(0, 10)}"`);
  return c;
}

/** The filters, declared on `orders` and again on `orders stats` (for its --help); `export` reuses them. */
export function filterFlags(cmd: Command): Command {
  return cmd
    .option('--connection <id>', 'only this connection (number, connector:alias or alias; repeatable)', collect)
    .option('--retailer <name>', 'only this retailer (any case; repeat for any of several)', collect)
    .option('--since <date>', 'placed on or after: 2026-01-31, 2026-01, an ISO date-time, or 90d / 2w / 3mo / 1y', (v) => dateText(v, '--since'))
    .option('--until <date>', 'placed before the end of this day or month (2026-03-31, 2026-03), or before a time (30d)', (v) => dateText(v, '--until'))
    .option('--status <list>', `only these statuses, comma-separated: ${STATUSES.join(', ')}`, parseStatuses)
    .option('--currency <code>', 'only orders in this currency (ISO 4217)', parseCurrency)
    .option('--category <name>', 'only orders with an item in this category (any case; repeat for any of several)', collect)
    .option('--min <amount>', "total at least this, in the order's own currency (10 = $10.00 = ¥10)", (v) => parseAmount(v, '--min'))
    .option('--max <amount>', "total at most this, in the order's own currency", (v) => parseAmount(v, '--max'))
    .option('-s, --search <text>', 'words in item names ("coffee beans"; the last word may be a prefix)');
}

/**
 * Check a date flag when argv is read (an impossible date such as 2026-02-30 is a usage error
 * before anything is opened) and keep it as typed: spans are resolved against ctx.now() later.
 */
export function dateText(v: string, flag: string): string {
  if (!/^\d+\s*(mo|y)$/.test(v.trim())) parseDateFlag(v, flag, new Date());
  return v;
}

/** --since: a date, a date-time, a span (90d), or calendar months/years back (3mo, 1y). */
function sinceFlag(v: string, now: Date): string {
  const cal = /^(\d{1,4})\s*(mo|y)$/.exec(v.trim());
  if (cal) {
    const n = Number(cal[1]) * (cal[2] === 'y' ? 12 : 1);
    const d = new Date(now);
    d.setUTCMonth(d.getUTCMonth() - n);
    return d.toISOString();
  }
  return parseDateFlag(v, '--since', now);
}

/** --until: a bare day or month means "to the end of it" (people read 2026-03-31 as inclusive). */
function untilFlag(v: string, now: Date): string {
  const t = v.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return new Date(Date.parse(parseDateFlag(t, '--until', now)) + 86_400_000).toISOString();
  if (/^\d{4}-\d{2}$/.test(t)) {
    const d = new Date(parseDateFlag(t, '--until', now));
    return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString();
  }
  return /^\d+\s*(mo|y)$/.test(t) ? sinceFlag(t, now) : parseDateFlag(t, '--until', now);
}

/** The typed filter options of `orders`, `orders stats` (and `export`) as a store filter; usage errors here. */
export function buildFilter(ctx: Context, o: FilterOptions): OrderFilter {
  const store = ctx.store();
  const f: OrderFilter = {};
  if (o.connection?.length) f.connectionIds = [...new Set(o.connection.map((c) => store.connections.resolve(c).id))];
  const retailers = listOf(o.retailer);
  if (retailers.length) f.retailer = retailers;
  if (o.since) f.since = sinceFlag(o.since, ctx.now());
  if (o.until) f.until = untilFlag(o.until, ctx.now());
  if (f.since && f.until && f.since >= f.until) throw usageError('BAD_OPTION', `--since (${f.since}) must be before --until (${f.until})`);
  if (o.status?.length) f.status = o.status;
  if (o.currency) f.currency = knownCurrency(ctx, o.currency);
  const categories = listOf(o.category);
  if (categories.length) f.category = categories;
  if (o.min !== undefined) f.min = o.min;
  if (o.max !== undefined) f.max = o.max;
  if (f.min !== undefined && f.max !== undefined && f.min > f.max) throw usageError('BAD_OPTION', `--min (${f.min}) is more than --max (${f.max})`);
  if (o.search !== undefined) {
    // Every word is quoted for FTS5 (ftsQuery), so no input can be an FTS syntax error; text
    // without any letter or digit cannot match anything, which deserves a word, not silence.
    if (ftsQuery(o.search) === null) throw usageError('BAD_SEARCH', `--search needs at least one word (letters or digits), got "${o.search.slice(0, 40)}"`);
    f.search = o.search;
  }
  return f;
}

/** A flag's values (a string from older callers, or the repeatable flag's list), blanks dropped. */
function listOf(v: string | readonly string[] | undefined): string[] {
  return (typeof v === 'string' ? [v] : (v ?? [])).map((s) => s.trim()).filter(Boolean);
}

/** An ISO 4217 code, or a code this database has orders in (a provider may use its own). */
function knownCurrency(ctx: Context, code: string): string {
  if (isKnownCurrency(code)) return code;
  const present = ctx.store().orders.currencies({}, 20);
  if (present.includes(code)) return code;
  throw usageError(
    'BAD_CURRENCY',
    `--currency ${code.slice(0, 10)} is not an ISO 4217 currency code`,
    present.length ? `Your orders are in ${present.join(', ')}; codes look like USD, EUR or JPY.` : 'Codes look like USD, EUR or JPY.',
  );
}
