/**
 * `orderlink export [--format csv|json|ndjson|sqlite] [--items] [FILTERS] [-o FILE]`: the orders
 * of this profile, with their line items, in a form other tools read — streamed in constant
 * memory to stdout or to a file written whole or not at all (src/ui/export-file.ts), or as a
 * standalone SQLite copy (src/store/export-sqlite.ts). The filters are those of `orders`.
 * Formats and columns: docs/export.md.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, usageError } from '../errors.js';
import { connectionHandle } from '../store/index.js';
import type { OrderFilter } from '../store/index.js';
import { printJson } from '../ui/render.js';
import { buildFilter, filterFlags, type FilterOptions } from './orders.js';

const FORMATS = ['csv', 'json', 'ndjson', 'sqlite'] as const;
type Format = (typeof FORMATS)[number];

export interface ExportOptions extends FilterOptions {
  format?: Format;
  items: boolean;
  output?: string;
  force: boolean;
  includeDeleted: boolean;
}

/** The format a file name implies, when --format is not given. */
const BY_EXTENSION: Record<string, Format> = { '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.db': 'sqlite', '.sqlite': 'sqlite', '.sqlite3': 'sqlite' };

function parseFormat(v: string): Format {
  const f = v.trim().toLowerCase() as Format;
  if (!FORMATS.includes(f)) throw usageError('BAD_OPTION', `--format must be one of ${FORMATS.join(', ')}, got "${v.slice(0, 20)}"`);
  return f;
}

export function register(cmd: Command, app: App): void {
  filterFlags(cmd)
    .option('-f, --format <format>', `${FORMATS.join(', ')} (default: from -o's extension, else ndjson; --json alone: json)`, parseFormat)
    .option('--items', 'include line items: nested "items" in JSON/NDJSON, one CSV row per item (order columns repeated)', false)
    .option('-o, --output <file>', 'write to FILE (0600, written whole or not at all) instead of stdout; required for sqlite')
    .option('--force', 'replace FILE if it exists (a symlink there is replaced, never followed)', false)
    .option('--include-deleted', 'also orders the provider deleted (deleted_at is set)', false)
    .addHelpText(
      'after',
      `
Orders come oldest first. Amounts are exact decimal strings in the order's currency ("12.30",
"1200" for JPY) beside integers in minor units (total_minor, unit_price_minor, ...). CSV is
RFC 4180 with a header row, safe to open in a spreadsheet (cells starting with = + - @ are
neutralised). --format sqlite writes a standalone SQLite file (docs/schema.md) made with SQLite's
backup API, without vault references, audit trail or sync history, and only the orders that match
the filters: open it with sqlite3, Datasette or sqlite-utils. Columns and details: docs/export.md.

Examples:
  $ orderlink export --format ndjson --items -o orders.ndjson
  $ orderlink export --items --format csv -o items.csv --since 1y
  $ orderlink export --format json --retailer Target --since 2026-01 > target.json
  $ orderlink export --format sqlite -o orders.db && datasette orders.db
  $ orderlink export --connection amazon:default --items | jq -r '.items[].name'`,
    )
    .action((o: ExportOptions) => app.run('export', o, runExport));
}

export async function runExport(ctx: Context, o: ExportOptions): Promise<number> {
  const format: Format = o.format ?? (o.output ? BY_EXTENSION[extname(o.output).toLowerCase()] : undefined) ?? (ctx.json && !o.output ? 'json' : 'ndjson');
  if (format === 'sqlite' && !o.output) throw usageError('OUTPUT_REQUIRED', '--format sqlite writes a database file: give it a name with -o FILE', 'For example: orderlink export --format sqlite -o orders.db');
  if (o.force && !o.output) throw usageError('BAD_OPTION', '--force only applies with -o FILE');
  const file = o.output ? resolve(o.output) : undefined;
  if (file) (await import('../ui/export-file.js')).checkTarget(file, o.force);

  const store = ctx.store();
  const filter: OrderFilter = { ...buildFilter(ctx, o), ...(o.includeDeleted ? { includeDeleted: true } : {}) };
  const handles = new Map(store.connections.list().map((c) => [c.id, connectionHandle(c)]));

  if (format === 'sqlite') return exportToSqlite(ctx, file!, o, filter);

  const items = o.items ? store.orders.itemsByOrder() : undefined;
  const rows = store.orders.iterate(filter, 'date');
  const { streamExport } = await import('../ui/export-view.js');
  if (!file) {
    const r = await streamExport((chunk) => ctx.io.write(chunk, ctx.signal), rows, format, handles, items, ctx.signal, ctx.io.stdoutIsTTY);
    // Ctrl-C: exit 130. The reader left (`| head`): exit 0, quietly.
    if (ctx.signal.aborted) throw new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });
    if (r.orders === 0 && !store.orders.hasAny()) ctx.io.err('No orders yet: link an account (`orderlink link`) and run `orderlink sync` first.');
    return 0;
  }

  const f = await import('../ui/export-file.js');
  let tmp: string | undefined;
  let counts: { orders: number; items: number };
  try {
    tmp = f.createTemp(file);
    const fh = await f.openTemp(tmp);
    try {
      const writeAll = async (chunk: string | Uint8Array): Promise<boolean> => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        return true;
      };
      counts = await streamExport(writeAll, rows, format, handles, items, ctx.signal);
      if (ctx.signal.aborted) throw new OrderlinkError('INTERRUPTED', `interrupted; nothing was written to ${file}`, { kind: 'interrupted' });
      await fh.sync();
    } finally {
      await fh.close();
    }
    f.publish(tmp, file, o.force);
    tmp = undefined;
  } catch (err) {
    throw f.writeFailed(file, err);
  } finally {
    if (tmp) f.removeQuiet(tmp);
  }
  return done(ctx, file, format, o, { ...counts, charges: null, connections: null });
}

async function exportToSqlite(ctx: Context, file: string, o: ExportOptions, filter: OrderFilter): Promise<number> {
  const f = await import('../ui/export-file.js');
  const { exportSqlite } = await import('../store/export-sqlite.js');
  let tmp: string | undefined;
  let r: Awaited<ReturnType<typeof exportSqlite>>;
  try {
    tmp = f.createTemp(file);
    r = await exportSqlite(ctx.store().db, tmp, filter, {
      exported_at: ctx.now().toISOString(),
      exported_by: 'orderlink export',
      filter: JSON.stringify(filter),
    });
    f.fsyncPath(tmp);
    f.publish(tmp, file, o.force);
    tmp = undefined;
  } catch (err) {
    throw f.writeFailed(file, err);
  } finally {
    if (tmp) f.removeQuiet(tmp);
  }
  return done(ctx, file, 'sqlite', o, r);
}

function done(ctx: Context, file: string, format: Format, o: ExportOptions, r: { orders: number; items: number; charges: number | null; connections: number | null }): number {
  const bytes = statSync(file).size;
  try {
    ctx.audit('export', null, { format, file: basename(file), items: o.items || format === 'sqlite', orders: r.orders });
  } catch {
    ctx.io.err(`${ctx.io.errColor.yellow('!')} the export is complete, but its audit entry could not be written`);
  }
  if (ctx.json) {
    printJson(ctx.io, { file, format, bytes, orders: r.orders, items: format === 'sqlite' || o.items ? r.items : null, ...(format === 'sqlite' ? { charges: r.charges, connections: r.connections } : {}) });
    return 0;
  }
  const what = `${r.orders} order${r.orders === 1 ? '' : 's'}${format === 'sqlite' || o.items ? ` and ${r.items} item${r.items === 1 ? '' : 's'}` : ''}`;
  ctx.io.err(`${ctx.io.errColor.green('✓')} exported ${what} as ${format} to ${file} (${bytes} bytes, mode 0600)`);
  if (r.orders === 0) ctx.io.err('  No order matched: check the filters (`orderlink orders` with the same ones).');
  if (format === 'sqlite') ctx.io.err('  Open it with: sqlite3, datasette or sqlite-utils (schema: docs/schema.md). It holds no token and no audit trail.');
  return 0;
}

