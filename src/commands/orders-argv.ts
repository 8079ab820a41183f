/**
 * A reader of `orders` and `orders stats` argv that needs no commander: the two commands people
 * run most, whose start-up time is measured (docs/performance.md). It answers only for argv it
 * reads exactly as commander does (cli.ts and orders.ts's registration) and returns null for
 * everything else — help, version, `--`, `--flag=value`, grouped short flags, a value starting
 * with "-", an unknown flag or operand, any value its parser refuses, a list-only flag given to
 * stats — so that commander handles it, errors and their wording included.
 * test/orders-argv.test.ts checks the flag surface against commander's registration and
 * compares the two readers' options and global options over every flag.
 *
 * Commander's rules reproduced here: the program's options are taken wherever they appear;
 * `orders`'s options too, also after `stats` (the stats action reads the filters from there);
 * stats-only flags must follow `stats`; a repeated flag's last value wins except for the
 * collecting ones; `--no-x` flags default to true.
 */
import type { ParsedGlobals } from '../cli-run.js';
import { validateProfile } from '../paths.js';
import { parsePositiveInt } from './options.js';
import { collect, dateText, parseAmount, parseCurrency, parseStatuses, type FilterOptions } from './order-filters.js';
import { GROUPINGS, oneOf, SORTS, type OrdersOptions, type OrdersStatsOptions } from './orders.js';

interface Flag {
  /** Option key (commander's camel-cased attribute name). */
  key: string;
  /** Parser of the flag's value, called with (value, previous); absent for a boolean flag. */
  parse?: (v: string, prev: never) => unknown;
  /** A `--no-x` flag: sets the key to false (and its default is true). */
  negate?: boolean;
}

type Flags = Readonly<Record<string, Flag>>;

export const GLOBAL_FLAGS: Flags = {
  '--home': { key: 'home', parse: (v) => v },
  '--profile': { key: 'profile', parse: (v) => validateProfile(v) },
  '--json': { key: 'json' },
  '-v': { key: 'verbose' },
  '--verbose': { key: 'verbose' },
  '--no-color': { key: 'color', negate: true },
};

const FILTERS: Flags = {
  '--connection': { key: 'connection', parse: collect },
  '--retailer': { key: 'retailer', parse: collect },
  '--since': { key: 'since', parse: (v) => dateText(v, '--since') },
  '--until': { key: 'until', parse: (v) => dateText(v, '--until') },
  '--status': { key: 'status', parse: parseStatuses },
  '--currency': { key: 'currency', parse: parseCurrency },
  '--category': { key: 'category', parse: collect },
  '--min': { key: 'min', parse: (v) => parseAmount(v, '--min') },
  '--max': { key: 'max', parse: (v) => parseAmount(v, '--max') },
  '-s': { key: 'search', parse: (v) => v },
  '--search': { key: 'search', parse: (v) => v },
};

/** `orders`'s own flags (the filters and the listing's). */
export const ORDERS_FLAGS: Flags = {
  ...FILTERS,
  '-n': { key: 'limit', parse: (v) => parsePositiveInt(v, '--limit') },
  '--limit': { key: 'limit', parse: (v) => parsePositiveInt(v, '--limit') },
  '--sort': { key: 'sort', parse: oneOf(SORTS, '--sort') },
  '--reverse': { key: 'reverse' },
  '--ndjson': { key: 'ndjson' },
  '--csv': { key: 'csv' },
  '--header': { key: 'header' },
  '--no-pager': { key: 'pager', negate: true },
};

/** The flags only `orders stats` declares (its filters, --header and --no-pager land on `orders`). */
export const STATS_ONLY_FLAGS: Flags = {
  '--by': { key: 'by', parse: oneOf(GROUPINGS, '--by') },
  '--top': { key: 'top', parse: (v) => parsePositiveInt(v, '--top', 1000) },
  '--include-charges': { key: 'includeCharges' },
};

const FILTER_KEYS = ['connection', 'retailer', 'since', 'until', 'status', 'currency', 'category', 'min', 'max', 'search'] as const;

export type ParsedOrders =
  | { name: 'orders'; options: OrdersOptions; globals: ParsedGlobals }
  | { name: 'orders stats'; options: OrdersStatsOptions; globals: ParsedGlobals };

/** argv as commander would read it for `orders` or `orders stats`, or null (commander decides). */
export function parseOrdersArgv(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedOrders | null {
  const globals: Record<string, unknown> = { profile: env.ORDERLINK_PROFILE ?? 'default', json: false, verbose: false, color: true };
  const orders: Record<string, unknown> = { pager: true };
  const stats: Record<string, unknown> = { by: 'month' };
  let seen: 'none' | 'orders' | 'stats' = 'none';
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      const flag = GLOBAL_FLAGS[arg] ? { flag: GLOBAL_FLAGS[arg], into: globals } : seen !== 'none' && ORDERS_FLAGS[arg] ? { flag: ORDERS_FLAGS[arg], into: orders } : seen === 'stats' && STATS_ONLY_FLAGS[arg] ? { flag: STATS_ONLY_FLAGS[arg], into: stats } : null;
      if (flag) {
        const { key, parse, negate } = flag.flag;
        if (!parse) flag.into[key] = !negate;
        else {
          const value = argv[++i];
          if (value === undefined || value.startsWith('-')) return null;
          flag.into[key] = parse(value, flag.into[key] as never);
        }
        continue;
      }
      if (arg === 'orders' && seen === 'none') seen = 'orders';
      else if (arg === 'stats' && seen === 'orders') seen = 'stats';
      else return null;
    }
  } catch {
    return null; // a value its parser refuses: commander words the error
  }
  if (seen === 'none') return null;
  const g = globals as unknown as ParsedGlobals;
  if (seen === 'orders') return { name: 'orders', options: orders as OrdersOptions, globals: g };
  // The stats action (orders.ts): list-only flags are an error there; filters come from `orders`.
  if (['limit', 'sort', 'reverse', 'ndjson', 'csv'].some((k) => orders[k] !== undefined)) return null;
  const filters = Object.fromEntries(FILTER_KEYS.filter((k) => orders[k] !== undefined).map((k) => [k, orders[k]])) as FilterOptions;
  const shared = { ...(orders.header ? { header: true } : {}), ...(orders.pager === false ? { pager: false } : {}) };
  return { name: 'orders stats', options: { ...filters, ...stats, ...shared } as OrdersStatsOptions, globals: g };
}
