/**
 * `orderlink charges`: card and bank charges (Plaid transactions) from the local database. They
 * are not orders — `orders` and `orders stats` never count them, so one purchase that is also an
 * order (Amazon's export, Knot) is never counted twice — and they are listed here on their own.
 * Reads the database only: no network, no vault.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { displayMoney, formatMinor } from '../connectors/money.js';
import { usageError } from '../errors.js';
import { connectionHandle, type ChargeFilter, type ChargeRow } from '../store/index.js';
import { csvEscape, pickFormat, renderTable, type Column } from '../ui/render.js';
import { isCalendarDate, parsePositiveInt } from './options.js';
import { page } from '../ui/pager.js';

export interface ChargesOptions {
  connection?: string[];
  since?: string;
  until?: string;
  merchant?: string;
  pending?: boolean;
  posted?: boolean;
  limit?: number;
  ndjson?: boolean;
  csv?: boolean;
  /** A header line before piped (tab-separated) output. */
  header?: boolean;
  /** false with --no-pager. */
  pager?: boolean;
}

/** Piped (tab-separated) columns, in order (add at the end, never reorder). */
export const CHARGES_TSV_COLUMNS = ['date', 'merchant', 'amount', 'currency', 'status', 'category', 'connection'] as const;

const TTY_LIMIT = 50;
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function register(cmd: Command, app: App): void {
  cmd
    .option('--connection <id>', 'only this connection (number, connector:alias or alias; repeatable)', collect)
    .option('--since <date>', 'on or after this calendar day: 2026-01-31, 2026-01 (its first day), or 90d / 2w / 3mo / 1y back', (v) => (calendarFlag(v, '--since', new Date()), v))
    .option('--until <date>', 'on or before this calendar day: 2026-03-31, 2026-03 (its last day), or a span back', (v) => (calendarFlag(v, '--until', new Date()), v))
    .option('--merchant <text>', 'merchant contains this text (any case)')
    .option('--pending', 'only charges that have not posted yet')
    .option('--posted', 'only posted charges')
    .option('-n, --limit <n>', `at most N charges (default on a terminal: ${TTY_LIMIT}; piped and exports: all)`, (v) => parsePositiveInt(v, '--limit'))
    .option('--ndjson', 'one JSON object per line, streamed')
    .option('--csv', 'CSV (RFC 4180) with a header row')
    .option('--header', 'start piped (tab-separated) output with a line of column names')
    .option('--no-pager', 'never page a long table (also ORDERLINK_PAGER= or PAGER=)')
    .addHelpText(
      'after',
      `
Charges are card and bank transactions (from Plaid). They are kept apart from orders: a card
charge and the order it paid for are one purchase, so \`orders\` and \`orders stats\` never count
charges. Amounts: positive = money out (a purchase), negative = money in (a refund). Dates are the
bank's calendar dates (no time-zone shift). A pending charge that posts is shown once.

On a terminal the table fits its width and a long one goes through $ORDERLINK_PAGER, $PAGER or
less -FRX. Piped (tab-separated) columns, in this order: ${CHARGES_TSV_COLUMNS.join(', ')}
(--header names them first).

JSON fields: transaction_id, date, datetime, merchant, amount (decimal string), amount_minor,
currency, pending, category, account_id, connection, pending_transaction_id.

Examples:
  $ orderlink charges                                  # the newest 50
  $ orderlink charges --merchant walmart --since 90d
  $ orderlink charges --pending --json
  $ orderlink charges --since 2026-01 --until 2026-03 --csv > q1.csv
  $ orderlink charges --ndjson | jq -r '.amount'`,
    )
    .action((o: ChargesOptions) => app.run('charges', o, runCharges));
}

/** A calendar date (YYYY-MM-DD) from a flag: a day, a month (its first or last day) or a span back from today. */
export function calendarFlag(v: string, flag: '--since' | '--until', now: Date): string {
  const t = v.trim();
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  // Date.parse would roll 2026-02-30 over to March 2: an impossible day is refused instead.
  if (day && isCalendarDate(Number(day[1]), Number(day[2]), Number(day[3]))) return t;
  const month = /^(\d{4})-(\d{2})$/.exec(t);
  if (month && Number(month[2]) >= 1 && Number(month[2]) <= 12) {
    if (flag === '--since') return `${t}-01`;
    return new Date(Date.UTC(Number(month[1]), Number(month[2]), 0)).toISOString().slice(0, 10);
  }
  const span = /^(\d{1,5})\s*(d|w|mo|y)$/.exec(t);
  if (span) {
    const n = Number(span[1]);
    const d = new Date(now);
    if (span[2] === 'd') d.setUTCDate(d.getUTCDate() - n);
    else if (span[2] === 'w') d.setUTCDate(d.getUTCDate() - 7 * n);
    else d.setUTCMonth(d.getUTCMonth() - n * (span[2] === 'y' ? 12 : 1));
    return d.toISOString().slice(0, 10);
  }
  throw usageError('BAD_DATE', `${flag} expects a day like 2026-01-31, a month like 2026-01, or a span like 90d, 2w, 3mo, 1y; got "${v.slice(0, 40)}"`, 'Months run from 01 to 12 and days up to the month\'s last day.');
}

/** Text from a bank, made safe for a terminal (SECURITY.md rule 30): no control characters or bidi overrides. */
const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ');

export async function runCharges(ctx: Context, o: ChargesOptions): Promise<number> {
  if (o.header && (ctx.json || o.ndjson)) throw usageError('BAD_OPTION', '--header is for tab-separated (piped) output', 'JSON carries its field names; --csv always has a header row.');
  if (o.pending && o.posted) throw usageError('BAD_OPTION', '--pending and --posted exclude each other', 'Use one of them, or neither for both.');
  const store = ctx.store();
  const now = ctx.now();
  const f: ChargeFilter = {};
  if (o.connection?.length) f.connectionIds = [...new Set(o.connection.map((c) => store.connections.resolve(c).id))];
  if (o.since) f.since = calendarFlag(o.since, '--since', now);
  if (o.until) f.until = calendarFlag(o.until, '--until', now);
  if (f.since && f.until && f.since > f.until) throw usageError('BAD_OPTION', `--since (${f.since}) is after --until (${f.until})`);
  if (o.merchant) f.merchant = o.merchant;
  if (o.pending) f.pending = true;
  if (o.posted) f.pending = false;
  const io = ctx.io;
  const format = pickFormat(io, { json: ctx.json, ndjson: o.ndjson, csv: o.csv });
  const limit = o.limit ?? (format === 'table' ? TTY_LIMIT : undefined);
  if (limit !== undefined) f.limit = limit;
  const handles = new Map(store.connections.list().map((c) => [c.id, connectionHandle(c)]));
  const record = (r: ChargeRow) => ({
    transaction_id: r.transaction_id,
    date: r.date,
    datetime: r.datetime,
    merchant: r.merchant,
    amount: formatMinor(r.amount, r.currency),
    amount_minor: r.amount,
    currency: r.currency,
    pending: r.pending === 1,
    category: r.category,
    account_id: r.account_id,
    connection: handles.get(r.connection_id) ?? String(r.connection_id),
    pending_transaction_id: r.pending_transaction_id,
  });

  if (format === 'json') {
    const all = [...store.charges.iterate(f)].map(record);
    io.out(JSON.stringify(all, null, 2));
    return 0;
  }
  if (format === 'ndjson' || format === 'csv') {
    const keys = ['transaction_id', 'date', 'datetime', 'merchant', 'amount', 'currency', 'pending', 'category', 'account_id', 'connection', 'pending_transaction_id'] as const;
    if (format === 'csv' && !(await io.write(`${keys.join(',')}\n`))) return 0;
    let buf = '';
    for (const r of store.charges.iterate(f)) {
      const rec = record(r);
      buf += format === 'ndjson' ? `${JSON.stringify(rec)}\n` : `${keys.map((k) => csvEscape(rec[k] === null ? '' : String(rec[k]))).join(',')}\n`;
      if (buf.length > 64 * 1024) {
        if (!(await io.write(buf))) return 0;
        buf = '';
      }
    }
    if (buf) await io.write(buf);
    return 0;
  }
  const rows = [...store.charges.iterate(f)];
  const cols: Column<ChargeRow>[] = [
    { key: 'date', get: (r) => r.date },
    { key: 'merchant', get: (r) => printable(r.merchant) },
    { key: 'amount', get: (r) => (format === 'table' ? displayMoney(r.amount, r.currency) : formatMinor(r.amount, r.currency)), align: 'right' },
    { key: 'currency', get: (r) => r.currency },
    { key: 'status', get: (r) => (r.pending ? 'pending' : 'posted'), ...(format === 'table' ? { style: (v: string) => (v === 'pending' ? io.color.yellow(v) : v) } : {}) },
    { key: 'category', get: (r) => (r.category ? printable(r.category) : '') },
    { key: 'connection', get: (r) => handles.get(r.connection_id) ?? String(r.connection_id) },
  ];
  if (format === 'tsv') {
    if (o.header) io.out(CHARGES_TSV_COLUMNS.join('\t'));
    for (const r of rows) io.out(cols.map((c) => String(c.get(r) ?? '').replace(/[\t\n]/g, ' ')).join('\t'));
    return 0;
  }
  if (rows.length === 0) {
    io.err(store.connections.list().some((c) => c.connector === 'plaid') ? 'No charges match.' : 'No charges yet. Link a bank or card with `orderlink link plaid`, then run `orderlink sync`.');
    return 0;
  }
  await page(io, renderTable(io, rows, cols).split('\n'), { json: false, pager: o.pager !== false, env: ctx.env });
  const { limit: _omit, ...unlimited } = f;
  const totals = store.charges.totals(unlimited);
  const count = totals.reduce((n, t) => n + t.count, 0);
  io.err(`${rows.length < count ? `${rows.length} of ${count}` : count} charges · net out: ${totals.map((t) => displayMoney(t.total, t.currency)).join(', ')}${rows.length < count ? ' · --limit N or --json for more' : ''}`);
  return 0;
}
