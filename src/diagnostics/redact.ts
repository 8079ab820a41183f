/**
 * The second line of defence for a diagnostic bundle: collect.ts builds it from an allow-list, and
 * this pass then gathers every sensitive value the profile holds — account labels and ids, aliases,
 * token references, base URLs, last errors, order ids, retailers, item names and SKUs, merchants,
 * every string inside audit details, the values of ORDERLINK_* and secret-looking environment
 * variables, the home directory and the user name — and removes any of them that still appears in
 * a string of the bundle. A value shorter than MIN_LEN is not searched for (it would match inside
 * ordinary words); collect.ts never writes such values in the first place.
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import type { Context } from '../context.js';

const MIN_LEN = 5;
const SECRET_NAME = /(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|_KEY$)/i;
/** Rows read per table for the search: plenty for a bug report, bounded for a huge history. */
const SCAN_LIMIT = 200_000;

function strings(v: unknown, out: Set<string>): void {
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
}

/** Every sensitive string this profile holds (see the file comment). */
export function sensitiveValues(ctx: Context): string[] {
  const found = new Set<string>();
  for (const [k, v] of Object.entries(ctx.env)) if (v && (/^ORDERLINK_/i.test(k) || SECRET_NAME.test(k))) found.add(v);
  found.add(ctx.paths.home);
  found.add(homedir());
  try {
    found.add(userInfo().username);
  } catch {
    /* no user name on this platform */
  }
  let db: ReturnType<Context['store']>['db'] | undefined;
  try {
    db = existsSync(ctx.paths.db) ? ctx.store().db : undefined;
  } catch {
    db = undefined;
  }
  if (db) {
    const column = (sql: string) => {
      for (const r of db.prepare(`${sql} LIMIT ${SCAN_LIMIT}`).raw(true).iterate() as IterableIterator<unknown[]>) for (const v of r) if (typeof v === 'string') found.add(v);
    };
    column('SELECT account_label, account_id, alias, token_ref, base_url, last_error, sync_cursor, retailer FROM connections');
    column('SELECT order_id, retailer FROM orders');
    column('SELECT name, sku, category FROM order_items');
    column('SELECT transaction_id, account_id, merchant, category, pending_transaction_id FROM charges');
    for (const [config] of db.prepare('SELECT config FROM connections').raw(true).all() as Array<[string]>) {
      try {
        strings(JSON.parse(config), found);
      } catch {
        found.add(config);
      }
    }
    for (const [detail] of db.prepare(`SELECT detail FROM audit_log LIMIT ${SCAN_LIMIT}`).raw(true).iterate() as IterableIterator<[string]>) {
      try {
        strings(JSON.parse(detail), found);
      } catch {
        found.add(detail);
      }
    }
    for (const [detail] of db.prepare(`SELECT error_detail FROM sync_runs WHERE error_detail IS NOT NULL LIMIT ${SCAN_LIMIT}`).raw(true).iterate() as IterableIterator<[string]>) {
      try {
        strings(JSON.parse(detail), found);
      } catch {
        found.add(detail);
      }
    }
  }
  // Longest first, so a value containing another is removed whole.
  return [...found].filter((s) => s.length >= MIN_LEN).sort((a, b) => b.length - a.length);
}

/** Fields whose values are our own vocabulary (a connector id, a status): never treated as personal. */
const VOCABULARY = new Set(['connector', 'provider_type', 'status', 'environment', 'mode', 'last_run_status', 'kind', 'profile', 'key_source', 'base_url']);

/**
 * The bundle with every sensitive value removed from its strings (keys are ours and kept). A
 * value that is also one of our own words in the bundle (an alias named "default" or "sandbox")
 * is left alone: it says nothing about the person.
 */
export function redact<T>(value: T, sensitive: readonly string[]): T {
  const ours = new Set<string>();
  const vocabulary = (v: unknown, key = ''): void => {
    if (typeof v === 'string' && VOCABULARY.has(key)) ours.add(v);
    else if (Array.isArray(v)) v.forEach((x) => vocabulary(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) vocabulary(x, k);
  };
  vocabulary(value);
  const search = sensitive.filter((s) => !ours.has(s));
  const clean = (s: string): string => {
    let out = s;
    for (const v of search) if (out.includes(v)) out = out.split(v).join('[redacted]');
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return clean(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
