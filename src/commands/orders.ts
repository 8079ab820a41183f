/**
 * `orderlink orders` (list and search), `orders show ORDER` and `orders stats`: reading the local
 * database only — no network, no vault, no keychain. Filters become an OrderFilter for the store;
 * everything about how rows look lives in ui/orders-view.ts and ui/chart.ts.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { addMinor, formatMinor, isCurrencyCode, type MinorSum } from '../connectors/money.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle } from '../store/index.js';
import type { OrderFilter, OrderRow, SortKey } from '../store/index.js';
import { ftsQuery } from '../store/queries.js';
import { monthRange, seriesByCurrency, shapeSeries, type StatGroup, type StatsBy } from '../store/stats.js';
import { renderChart } from '../ui/chart.js';
import { listFooter, orderDetailRecord, orderTable, renderOrderDetail, streamOrders, type Handles } from '../ui/orders-view.js';
import { printJson } from '../ui/render.js';
import { tsvCell } from '../ui/safe-text.js';
import { parseDateFlag, parsePositiveInt } from './options.js';

const STATUSES = ['placed', 'shipped', 'delivered', 'cancelled', 'refunded', 'partially_refunded', 'returned', 'unknown'] as const;
const SORTS = ['date', 'total', 'retailer'] as const;
const GROUPINGS = ['month', 'retailer', 'category'] as const;
/** Rows a terminal listing shows when --limit is not given (piped and export formats: all). */
const TTY_LIMIT = 50;
/** Groups a terminal chart shows before folding the rest into "other". */
const TTY_TOP = 10;

/** Filters shared by `orders` and `orders stats`; dates stay as typed until run time (ctx.now()). */
export interface FilterOptions {
  connection?: string[];
  retailer?: string;
  since?: string;
  until?: string;
  currency?: string;
  status?: string[];
  category?: string;
  /** Major units of each order's currency. */
  min?: number;
  max?: number;
  search?: string;
}

export interface OrdersOptions extends FilterOptions {
  limit?: number;
  sort?: (typeof SORTS)[number];
  reverse?: boolean;
  ndjson?: boolean;
  csv?: boolean;
}

export interface OrdersShowOptions {
  order: string;
}

export interface OrdersStatsOptions extends FilterOptions {
  by?: StatsBy;
  top?: number;
  /** Add card charges no order accounts for (src/reconcile/stats.ts). */
  includeCharges?: boolean;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

function oneOf<T extends string>(values: readonly T[], flag: string): (v: string) => T {
  return (v) => {
    const x = v.trim().toLowerCase() as T;
    if (!values.includes(x)) throw usageError('BAD_OPTION', `${flag} must be one of ${values.join(', ')}, got "${v.slice(0, 30)}"`);
    return x;
  };
}

/** "10", "99.5", "12.345": an amount in major units, at most 4 decimals (ISO 4217's largest). */
export function parseAmount(v: string, flag: string): number {
  if (!/^\d{1,12}(\.\d{1,4})?$/.test(v.trim())) {
    throw usageError('BAD_AMOUNT', `${flag} expects an amount in the order's currency, like 10 or 99.50, got "${v.slice(0, 20)}"`);
  }
  return Number(v.trim());
}

function parseStatuses(v: string): string[] {
  const list = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = list.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (list.length === 0 || bad.length) throw usageError('BAD_OPTION', `--status takes ${STATUSES.join(', ')} (comma-separated), got "${v.slice(0, 40)}"`);
  return list;
}

function parseCurrency(v: string): string {
  const c = v.trim().toUpperCase();
  if (!isCurrencyCode(c)) throw usageError('BAD_OPTION', `--currency expects an ISO 4217 code like USD, EUR or JPY, got "${v.slice(0, 10)}"`);
  return c;
}

/** The filters, declared on `orders` and again on `orders stats` (for its --help). */
function filterFlags(cmd: Command): Command {
  return cmd
    .option('--connection <id>', 'only this connection (number, connector:alias or alias; repeatable)', collect)
    .option('--retailer <name>', 'only this retailer (any case)')
    .option('--since <date>', 'placed on or after: 2026-01-31, 2026-01, an ISO date-time, or 90d / 2w / 3mo / 1y')
    .option('--until <date>', 'placed before the end of this day or month (2026-03-31, 2026-03), or before a time (30d)')
    .option('--status <list>', `only these statuses, comma-separated: ${STATUSES.join(', ')}`, parseStatuses)
    .option('--currency <code>', 'only orders in this currency (ISO 4217)', parseCurrency)
    .option('--category <name>', 'only orders with an item in this category (any case)')
    .option('--min <amount>', "total at least this, in the order's own currency (10 = $10.00 = ¥10)", (v) => parseAmount(v, '--min'))
    .option('--max <amount>', "total at most this, in the order's own currency", (v) => parseAmount(v, '--max'))
    .option('-s, --search <text>', 'words in item names ("coffee beans"; the last word may be a prefix)');
}

const FILTER_KEYS = ['connection', 'retailer', 'since', 'until', 'status', 'currency', 'category', 'min', 'max', 'search'] as const;
const LIST_ONLY_KEYS = ['limit', 'sort', 'reverse', 'ndjson', 'csv'] as const;

export function register(cmd: Command, app: App): void {
  filterFlags(cmd)
    .option('-n, --limit <n>', `at most N orders (default on a terminal: ${TTY_LIMIT}; piped and exports: all)`, (v) => parsePositiveInt(v, '--limit'))
    .option('--sort <key>', 'date (newest first), total (largest first) or retailer (A→Z)', oneOf(SORTS, '--sort'))
    .option('--reverse', 'reverse the sort order')
    .option('--ndjson', 'one JSON object per line, streamed (for big exports and jq)')
    .option('--csv', 'CSV (RFC 4180) with a header row')
    .addHelpText(
      'after',
      `
Output: a table on a terminal (with the count and totals per currency), tab-separated text when
piped, or --json (an array), --ndjson, --csv. Amounts keep their currency's decimals: ¥1,200,
$12.34, KWD 12.345. Dates are UTC. In --since/--until "m" means minutes: write 3mo for months.

Examples:
  $ orderlink orders                                   # the newest 50
  $ orderlink orders --retailer Target --since 90d
  $ orderlink orders --search "coffee beans" --min 10 --max 40
  $ orderlink orders --sort total --limit 10           # the ten largest
  $ orderlink orders --csv > orders.csv
  $ orderlink orders --ndjson | jq -r '.total' | head
  $ orderlink orders show SB-alice-000042
  $ orderlink orders stats --by month --since 1y`,
    )
    .action((o: OrdersOptions) => app.run('orders', o, runOrders));

  cmd
    .command('show')
    .description('One order with its amounts and line items')
    .argument('<order>', 'the order id, or CONNECTION:ORDER_ID when the id exists in several connections')
    .addHelpText('after', '\nExamples:\n  $ orderlink orders show SB-alice-000042\n  $ orderlink orders show sandbox:work:SB-bob-000007 --json\n')
    .action((order: string) => app.run('orders show', { order } satisfies OrdersShowOptions, runOrdersShow));

  filterFlags(cmd.command('stats').description('Spending per month, retailer or category, per currency, as a bar chart'))
    .option('--by <group>', 'month, retailer or category', oneOf(GROUPINGS, '--by'), 'month')
    .option('--top <n>', `retailers/categories before the rest fold into "other" (default on a terminal: ${TTY_TOP})`, (v) => parsePositiveInt(v, '--top', 1000))
    .option('--include-charges', 'add card charges (Plaid) that no order accounts for; matched charges never count twice (docs/reconcile.md)')
    .addHelpText(
      'after',
      `
Totals are per currency and never converted or added across currencies. For categories the
amount is the sum of item lines (an order spanning categories counts in each).

Examples:
  $ orderlink orders stats                             # per month, all time
  $ orderlink orders stats --by retailer --since 2026-01-01
  $ orderlink orders stats --by category --top 5 --currency USD
  $ orderlink orders stats --include-charges           # + card charges no order accounts for
  $ orderlink orders stats --by month --json | jq '.currencies[0].groups'`,
    )
    .action((own: Pick<OrdersStatsOptions, 'by' | 'top' | 'includeCharges'>) => {
      // commander lets the parent (`orders`) take every option it knows wherever it appears, so
      // `orders stats --since 90d` leaves --since on the parent: the filters are read from there.
      const parent = cmd.opts<Record<string, unknown>>();
      const misplaced = LIST_ONLY_KEYS.filter((k) => parent[k] !== undefined);
      if (misplaced.length) throw usageError('BAD_OPTION', `orders stats does not take --${misplaced[0]!}`, 'Use --json for machine-readable stats.');
      const filters = Object.fromEntries(FILTER_KEYS.filter((k) => parent[k] !== undefined).map((k) => [k, parent[k]])) as FilterOptions;
      return app.run('orders stats', { ...filters, ...own } satisfies OrdersStatsOptions, runOrdersStats);
    });
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

function buildFilter(ctx: Context, o: FilterOptions): OrderFilter {
  const store = ctx.store();
  const f: OrderFilter = {};
  if (o.connection?.length) f.connectionIds = [...new Set(o.connection.map((c) => store.connections.resolve(c).id))];
  if (o.retailer) f.retailer = o.retailer;
  if (o.since) f.since = sinceFlag(o.since, ctx.now());
  if (o.until) f.until = untilFlag(o.until, ctx.now());
  if (f.since && f.until && f.since >= f.until) throw usageError('BAD_OPTION', `--since (${f.since}) must be before --until (${f.until})`);
  if (o.status?.length) f.status = o.status;
  if (o.currency) f.currency = o.currency;
  if (o.category) f.category = o.category;
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

function handlesOf(ctx: Context): Handles {
  return new Map(ctx.store().connections.list().map((c) => [c.id, connectionHandle(c)]));
}

/** Nothing to show: say why — nothing synced yet, or nothing matching — on stderr. */
function nothing(ctx: Context): void {
  if (ctx.store().orders.hasAny()) ctx.io.err('No orders match these filters.');
  else ctx.io.err('No orders yet. Link an account with `orderlink link`, then run `orderlink sync` — or try `orderlink demo` to see it work.');
}

export async function runOrders(ctx: Context, o: OrdersOptions): Promise<number> {
  const io = ctx.io;
  if ([ctx.json, o.ndjson, o.csv].filter(Boolean).length > 1) throw usageError('BAD_OPTION', 'choose one output format: --json, --ndjson or --csv');
  const filter = buildFilter(ctx, o);
  const sort = sortKey(o.sort ?? 'date', o.reverse ?? false);
  const store = ctx.store();
  const handles = handlesOf(ctx);
  const format = ctx.json ? 'json' : o.ndjson ? 'ndjson' : o.csv ? 'csv' : io.stdoutIsTTY ? 'table' : 'tsv';

  if (format !== 'table') {
    const result = await streamOrders(io, store.orders.iterate(filter, sort, o.limit), format, handles, ctx.signal);
    // Stopped by Ctrl-C: exit 130. Stopped because the reader left (`| head`): exit 0, quietly.
    if (ctx.signal.aborted) throw new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });
    if (result.rows === 0 && format === 'tsv') nothing(ctx);
    return 0;
  }

  const limit = o.limit ?? TTY_LIMIT;
  const rows: OrderRow[] = store.orders.list(filter, sort, limit);
  if (rows.length === 0) {
    nothing(ctx);
    return 0;
  }
  io.out(orderTable(io, rows, handles));
  // Below the limit the rows are the whole answer; otherwise ask the store (rollups, bounded).
  if (rows.length === limit) notifyRefresh(ctx, 'orders');
  const summary = rows.length < limit ? summarize(rows) : store.orders.summary(filter);
  io.out(listFooter(io, rows.length, summary, rows.length === limit));
  return 0;
}

/**
 * The first read after a big sync rebuilds the monthly totals it touched (seconds for hundreds of
 * thousands of orders): say so on a terminal instead of looking stuck.
 */
function notifyRefresh(ctx: Context, kind: 'orders' | 'categories'): void {
  if (ctx.io.stderrIsTTY && !ctx.json && ctx.store().orders.staleMonths(kind) >= 24) {
    ctx.io.err(ctx.io.errColor.dim('Updating the monthly totals after the last sync (once)…'));
  }
}

function sortKey(by: (typeof SORTS)[number], reverse: boolean): SortKey {
  // Natural directions: newest first, largest first, A→Z.
  const natural: Record<(typeof SORTS)[number], SortKey> = { date: '-date', total: '-total', retailer: 'retailer' };
  const k = natural[by];
  return reverse ? ((k.startsWith('-') ? k.slice(1) : `-${k}`) as SortKey) : k;
}

function summarize(rows: readonly OrderRow[]) {
  const m = new Map<string, { currency: string; orders: number; total: MinorSum; refunded: MinorSum }>();
  for (const r of rows) {
    const t = m.get(r.currency) ?? { currency: r.currency, orders: 0, total: 0, refunded: 0 };
    t.orders++;
    t.total = addMinor(t.total, r.total);
    t.refunded = addMinor(t.refunded, r.refunded);
    m.set(r.currency, t);
  }
  const totals = [...m.values()].sort((a, b) => b.orders - a.orders || a.currency.localeCompare(b.currency));
  return { orders: rows.length, exact: true, totals };
}

export async function runOrdersShow(ctx: Context, o: OrdersShowOptions): Promise<number> {
  const order = resolveOrder(ctx, o.order);
  const items = ctx.store().orders.items(order.id);
  const handles = handlesOf(ctx);
  if (ctx.json) printJson(ctx.io, orderDetailRecord(order, items, handles));
  else renderOrderDetail(ctx.io, order, items, handles.get(order.connectionId) ?? String(order.connectionId));
  return 0;
}

/**
 * An order id, or CONNECTION:ORDER_ID. Provider ids are unique per connection only, and may
 * themselves contain ":", so each split point is tried with a connection that exists.
 */
function resolveOrder(ctx: Context, ref: string): OrderRow {
  const store = ctx.store();
  const orders = store.orders;
  const all = orders.findByOrderId(ref);
  const live = all.filter((r) => r.deletedAt === null);
  const found = live.length ? live : all;
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    const handles = handlesOf(ctx);
    throw new OrderlinkError('ORDER_AMBIGUOUS', `order "${ref.slice(0, 80)}" exists in ${found.length} connections`, {
      kind: 'usage',
      hint: `Name it with its connection: ${found.map((r) => `${handles.get(r.connectionId) ?? r.connectionId}:${ref}`).join(', ')}`,
    });
  }
  for (let i = ref.indexOf(':'); i > 0; i = ref.indexOf(':', i + 1)) {
    let connectionId: number;
    try {
      connectionId = store.connections.resolve(ref.slice(0, i)).id;
    } catch {
      continue;
    }
    const hit = orders.findByOrderId(ref.slice(i + 1), connectionId)[0];
    if (hit) return hit;
  }
  if (/^\d{1,15}$/.test(ref)) {
    // The row id printed as "id" by --json.
    const hit = orders.byRowId(Number(ref));
    if (hit) return hit;
  }
  throw new OrderlinkError('ORDER_NOT_FOUND', `no order "${ref.slice(0, 80)}" in this profile`, {
    hint: 'Find its id with `orderlink orders --search WORDS` or `orderlink orders --since 30d`; run `orderlink sync` if it is new.',
  });
}

export async function runOrdersStats(ctx: Context, o: OrdersStatsOptions): Promise<number> {
  const io = ctx.io;
  const by = o.by ?? 'month';
  const filter = buildFilter(ctx, o);
  const store = ctx.store();
  const format = ctx.json ? 'json' : io.stdoutIsTTY ? 'chart' : 'tsv';
  // Folding the tail into "other" is for eyes; JSON and piped text get every group unless asked.
  const top = o.top ?? (format === 'chart' ? TTY_TOP : Number.POSITIVE_INFINITY);
  notifyRefresh(ctx, by === 'category' ? 'categories' : 'orders');
  const rows = store.orders.stats(by, filter);
  // --include-charges: card charges no order accounts for join the totals (src/reconcile/stats.ts).
  const charges = o.includeCharges ? (await import('../reconcile/stats.js')).withUnmatchedCharges(store, by, filter, rows, ctx.now(), (a, d) => ctx.audit(a, null, d)) : undefined;
  if (charges) (await import('../reconcile/report.js')).noteCharges(io, charges, format === 'json');
  const raw = seriesByCurrency(charges?.rows ?? rows);
  // One timeline for every currency, so their months line up under each other.
  const months = monthRange(raw);
  const series = raw.map((s) => shapeSeries(s, by, top, months));
  const label = (g: StatGroup): string => (g.folded ? `other (${g.folded})` : g.key === '' && by === 'category' ? '(no category)' : g.key);

  if (format === 'json') {
    printJson(io, {
      by,
      since: filter.since ?? null,
      until: filter.until ?? null,
      ...(charges ? { include_charges: (await import('../reconcile/report.js')).chargesJson(charges) } : {}),
      currencies: series.map((s) => ({
        currency: s.currency,
        orders: s.orders,
        ...money('total', s.total, s.currency),
        ...money('refunded', s.refunded, s.currency),
        groups: s.groups.map((g) => ({
          key: by === 'category' && g.key === '' && !g.folded ? null : g.key,
          orders: g.orders,
          ...money('total', g.total, s.currency),
          ...money('refunded', g.refunded, s.currency),
          ...(g.gap ? { gap: true } : {}),
          ...(g.folded ? { folded: g.folded } : {}),
        })),
      })),
    });
    return 0;
  }
  if (series.length === 0) {
    nothing(ctx);
    return 0;
  }
  if (format === 'tsv') {
    for (const s of series) {
      for (const g of s.groups) io.out([s.currency, label(g), g.orders, formatMinor(g.total, s.currency), formatMinor(g.refunded, s.currency)].map(tsvCell).join('\t'));
    }
    return 0;
  }
  const range = filter.since || filter.until ? ` ${io.color.dim(`(${filter.since?.slice(0, 10) ?? 'start'} → ${filter.until ? 'before ' + filter.until.slice(0, 10) : 'now'})`)}` : '';
  const what = by === 'category' ? 'Item spending by category' : `Spending by ${by}`;
  for (const line of renderChart(io, series, { title: `${what}${range}  ${io.color.dim('· right column: orders')}`, label, orderCount: by !== 'category' })) io.out(line);
  return 0;
}

/**
 * An amount in --json: the decimal string and the integer in minor units, side by side. A sum
 * beyond 2^53 (possible only with bigint totals) is a bigint, which printJson writes as a string
 * of digits: exact for every JSON reader, where a number would silently round.
 */
function money<K extends string>(key: K, minor: MinorSum, currency: string): Record<K, string> & Record<`${K}_minor`, MinorSum> {
  return { [key]: formatMinor(minor, currency), [`${key}_minor`]: minor } as Record<K, string> & Record<`${K}_minor`, MinorSum>;
}
