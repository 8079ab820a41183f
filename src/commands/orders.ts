/**
 * `orderlink orders` (list and search), `orders show ORDER` and `orders stats`: reading the local
 * database only — no network, no vault, no keychain. Filters become an OrderFilter for the store;
 * everything about how rows look lives in ui/orders-view.ts and ui/chart.ts.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { addMinor, formatMinor, type MinorSum } from '../connectors/money.js';
import { OrderlinkError, usageError } from '../errors.js';
import type { OrderFilter, OrderRow, SortKey } from '../store/index.js';
import { monthRange, seriesByCurrency, shapeSeries, type StatGroup, type StatsBy } from '../store/stats.js';
import { renderChart } from '../ui/chart.js';
import { listFooter, orderTable, streamOrders, TSV_COLUMNS } from '../ui/orders-view.js';
import { handlesOf, runOrdersShow, type OrdersShowOptions } from './orders-show.js';
import { page } from '../ui/pager.js';
import { printJson } from '../ui/render.js';
import { tsvCell } from '../ui/safe-text.js';
import { parsePositiveInt } from './options.js';
import { buildFilter, filterFlags, parseAmount, type FilterOptions } from './order-filters.js';

export { buildFilter, filterFlags, parseAmount, type FilterOptions };

export const SORTS = ['date', 'total', 'retailer'] as const;
export const GROUPINGS = ['month', 'retailer', 'category'] as const;
/** Rows a terminal listing shows when --limit is not given (piped and export formats: all). */
const TTY_LIMIT = 50;
/** Groups a terminal chart shows before folding the rest into "other". */
const TTY_TOP = 10;

export interface OrdersOptions extends FilterOptions {
  limit?: number;
  sort?: (typeof SORTS)[number];
  reverse?: boolean;
  ndjson?: boolean;
  csv?: boolean;
  /** A header line before piped (tab-separated) output. */
  header?: boolean;
  /** false with --no-pager. */
  pager?: boolean;
}

export { runOrdersShow, type OrdersShowOptions };

export interface OrdersStatsOptions extends FilterOptions {
  by?: StatsBy;
  top?: number;
  header?: boolean;
  pager?: boolean;
  /** Add card charges no order accounts for (src/reconcile/stats.ts). */
  includeCharges?: boolean;
}

export function oneOf<T extends string>(values: readonly T[], flag: string): (v: string) => T {
  return (v) => {
    const x = v.trim().toLowerCase() as T;
    if (!values.includes(x)) throw usageError('BAD_OPTION', `${flag} must be one of ${values.join(', ')}, got "${v.slice(0, 30)}"`);
    return x;
  };
}

const FILTER_KEYS = ['connection', 'retailer', 'since', 'until', 'status', 'currency', 'category', 'min', 'max', 'search'] as const;
const LIST_ONLY_KEYS = ['limit', 'sort', 'reverse', 'ndjson', 'csv'] as const;
/** Piped `orders stats` columns, in order. */
const STATS_TSV_COLUMNS = ['currency', 'group', 'orders', 'total', 'refunded'] as const;
const TSV_HELP = `Piped (tab-separated) columns, in this order:\n  ${TSV_COLUMNS.join(', ')}`;

export function register(cmd: Command, app: App): void {
  filterFlags(cmd)
    .option('-n, --limit <n>', `at most N orders (default on a terminal: ${TTY_LIMIT}; piped and exports: all)`, (v) => parsePositiveInt(v, '--limit'))
    .option('--sort <key>', 'date (newest first), total (largest first; one currency: see below) or retailer (A→Z)', oneOf(SORTS, '--sort'))
    .option('--reverse', 'reverse the sort order')
    .option('--ndjson', 'one JSON object per line, streamed (for big exports and jq)')
    .option('--csv', 'CSV (RFC 4180) with a header row')
    .option('--header', 'start piped (tab-separated) output with a line of column names')
    .option('--no-pager', 'never page a long table (also ORDERLINK_PAGER= or PAGER=)')
    .addHelpText(
      'after',
      `
Filters combine: each given flag must match (AND); a repeated --connection, --retailer or
--category matches any of its values (OR). --sort total compares amounts, which only makes sense
in one currency: across currencies it is an error unless --currency is given or every matching
order has the same currency.

Output: a table on a terminal (with the count and totals per currency), fitted to its width (long
text is cut with "…") and paged through $ORDERLINK_PAGER, $PAGER or less -FRX when longer than
the screen; tab-separated text when piped; or --json (an array), --ndjson, --csv. Amounts keep
their currency's decimals: ¥1,200, $12.34, KWD 12.345. Dates are UTC. In --since/--until "m"
means minutes: write 3mo for months.
${TSV_HELP}
(--header names them first; no header by default, so scripts that cut columns keep working).

Examples:
  $ orderlink orders                                   # the newest 50
  $ orderlink orders --retailer Target --retailer Walmart --since 90d
  $ orderlink orders --sort total --currency USD --limit 10   # the ten largest in dollars
  $ orderlink orders --search "coffee beans" --min 10 --max 40
  $ orderlink orders --header | column -t -s $'\\t'
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
    .option('--header', 'start piped (tab-separated) output with a line of column names')
    .option('--no-pager', 'never page a long chart')
    .option('--include-charges', 'add card charges (Plaid) that no order accounts for; matched charges never count twice (docs/reconcile.md)')
    .addHelpText(
      'after',
      `
Totals are per currency and never converted or added across currencies. For categories the
amount is the sum of item lines (an order spanning categories counts in each).
Piped (tab-separated) columns, in this order: ${STATS_TSV_COLUMNS.join(', ')}.

Examples:
  $ orderlink orders stats                             # per month, all time
  $ orderlink orders stats --by retailer --since 2026-01-01
  $ orderlink orders stats --by category --top 5 --currency USD
  $ orderlink orders stats --include-charges           # + card charges no order accounts for
  $ orderlink orders stats --by month --json | jq '.currencies[0].groups'`,
    )
    .action((own: Pick<OrdersStatsOptions, 'by' | 'top' | 'header' | 'pager' | 'includeCharges'>) => {
      // commander lets the parent (`orders`) take every option it knows wherever it appears, so
      // `orders stats --since 90d` leaves --since on the parent: the filters are read from there.
      const parent = cmd.opts<Record<string, unknown>>();
      const misplaced = LIST_ONLY_KEYS.filter((k) => parent[k] !== undefined);
      if (misplaced.length) throw usageError('BAD_OPTION', `orders stats does not take --${misplaced[0]!}`, 'Use --json for machine-readable stats.');
      const filters = Object.fromEntries(FILTER_KEYS.filter((k) => parent[k] !== undefined).map((k) => [k, parent[k]])) as FilterOptions;
      // --header and --no-pager, like the filters, may land on the parent.
      const shared = { ...(parent.header || own.header ? { header: true } : {}), ...(parent.pager === false || own.pager === false ? { pager: false } : {}) };
      const { header: _h, pager: _p, ...rest } = own;
      return app.run('orders stats', { ...filters, ...rest, ...shared } satisfies OrdersStatsOptions, runOrdersStats);
    });
}

/**
 * --sort total compares amounts: $10 and ¥10 are not comparable, so a listing that mixes
 * currencies cannot be sorted by total without misleading. Allowed with --currency or when every
 * matching order has one currency.
 */
function checkTotalSort(ctx: Context, o: OrdersOptions, filter: OrderFilter): void {
  if (o.sort !== 'total' || filter.currency) return;
  const found = ctx.store().orders.currencies(filter, 6);
  if (found.length > 1) {
    throw usageError(
      'SORT_ACROSS_CURRENCIES',
      `--sort total cannot compare amounts in different currencies (these orders are in ${found.slice(0, 5).join(', ')}${found.length > 5 ? ' and more' : ''})`,
      `Add --currency ${found[0]} (or another), or sort by date or retailer.`,
    );
  }
}


/** Nothing to show: say why — nothing synced yet, or nothing matching — on stderr. */
function nothing(ctx: Context): void {
  if (ctx.store().orders.hasAny()) ctx.io.err('No orders match these filters.');
  else ctx.io.err('No orders yet. Link an account with `orderlink link`, then run `orderlink sync` — or try `orderlink demo` to see it work.');
}

export async function runOrders(ctx: Context, o: OrdersOptions): Promise<number> {
  const io = ctx.io;
  if ([ctx.json, o.ndjson, o.csv].filter(Boolean).length > 1) throw usageError('BAD_OPTION', 'choose one output format: --json, --ndjson or --csv');
  if (o.header && (ctx.json || o.ndjson)) throw usageError('BAD_OPTION', '--header is for tab-separated (piped) output', 'JSON carries its field names; --csv always has a header row.');
  const filter = buildFilter(ctx, o);
  checkTotalSort(ctx, o, filter);
  const sort = sortKey(o.sort ?? 'date', o.reverse ?? false);
  const store = ctx.store();
  const handles = handlesOf(ctx);
  const format = ctx.json ? 'json' : o.ndjson ? 'ndjson' : o.csv ? 'csv' : io.stdoutIsTTY ? 'table' : 'tsv';

  if (format !== 'table') {
    const result = await streamOrders(io, store.orders.iterate(filter, sort, o.limit), format, handles, ctx.signal, { header: o.header === true });
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
  // Below the limit the rows are the whole answer; otherwise ask the store (rollups, bounded).
  if (rows.length === limit) notifyRefresh(ctx, 'orders');
  const summary = rows.length < limit ? summarize(rows) : store.orders.summary(filter);
  const lines = [...orderTable(io, rows, handles).split('\n'), listFooter(io, rows.length, summary, rows.length === limit)];
  await page(io, lines, { json: ctx.json, pager: o.pager !== false, env: ctx.env });
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
    if (o.header) io.out(STATS_TSV_COLUMNS.join('\t'));
    for (const s of series) {
      for (const g of s.groups) io.out([s.currency, label(g), g.orders, formatMinor(g.total, s.currency), formatMinor(g.refunded, s.currency)].map(tsvCell).join('\t'));
    }
    return 0;
  }
  const range = filter.since || filter.until ? ` ${io.color.dim(`(${filter.since?.slice(0, 10) ?? 'start'} → ${filter.until ? 'before ' + filter.until.slice(0, 10) : 'now'})`)}` : '';
  const what = by === 'category' ? 'Item spending by category' : `Spending by ${by}`;
  const chart = renderChart(io, series, { title: `${what}${range}  ${io.color.dim('· right column: orders')}`, label, orderCount: by !== 'category' });
  await page(io, [...chart], { json: false, pager: o.pager !== false, env: ctx.env });
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
