/**
 * What `orderlink export` writes: the order record of `orders --json` (orderRecord, a contract:
 * fields are added, never renamed) plus every amount as `*_minor` integers and `deleted_at`, and
 * with --items the line items — nested in JSON/NDJSON, one CSV row per item with the order's
 * columns repeated. Streamed in chunks through a writer that waits for the reader (constant
 * memory); CSV cells go through csvEscape (RFC 4180, OWASP CSV-injection safe). docs/export.md.
 */
import { formatMinor, lineAmount, type MinorSum } from '../connectors/money.js';
import { OrderRowStream, rowFromRaw } from '../store/order-stream.js';
import { ITEM_BATCH, type ItemRow, type OrderRow } from '../store/queries.js';
import { jsonChunk, jsonString, orderRecord, type Handles } from './orders-view.js';
import { csvEscape } from './render.js';
import { safeJson } from './safe-text.js';

export type ExportFormat = 'csv' | 'json' | 'ndjson';

/** CSV columns of an order, in this order (documented in docs/export.md). */
export const ORDER_COLUMNS = [
  'id', 'connection', 'order_id', 'order_date', 'retailer', 'status', 'currency',
  'subtotal', 'subtotal_minor', 'tax', 'tax_minor', 'shipping', 'shipping_minor', 'discount', 'discount_minor',
  'total', 'total_minor', 'refunded', 'refunded_minor', 'item_count', 'deleted_at',
] as const;
/** With --items, these follow the order's columns on each row (an order without items: one row, these empty). */
export const ITEM_COLUMNS = ['line_no', 'item_name', 'sku', 'quantity', 'unit_price', 'unit_price_minor', 'amount', 'amount_minor', 'category'] as const;

export function itemRecord(i: ItemRow, currency: string) {
  const amount = lineAmount(i.unitPrice, i.quantity);
  return {
    line_no: i.lineNo,
    name: i.name,
    sku: i.sku,
    quantity: i.quantity,
    unit_price: formatMinor(i.unitPrice, currency),
    unit_price_minor: i.unitPrice,
    amount: formatMinor(amount, currency),
    amount_minor: amount,
    category: i.category,
  };
}

/**
 * `JSON.stringify(items.map((i) => itemRecord(i, currency)))`, before safeJson's escapes, built
 * directly (an export with --items writes one per order). A line amount past 2^53 is a bigint,
 * which safeJson writes as a digit string: so is it here. Pinned by test/speed.equivalence.test.ts.
 */
function itemsJson(items: readonly ItemRow[], currency: string): string {
  let out = '[';
  for (let k = 0; k < items.length; k++) {
    const i = items[k]!;
    const amount = lineAmount(i.unitPrice, i.quantity);
    out +=
      `${k ? ',' : ''}{"line_no":${i.lineNo},"name":${jsonString(i.name)},"sku":${jsonString(i.sku)},"quantity":${i.quantity},` +
      `"unit_price":${jsonString(formatMinor(i.unitPrice, currency))},"unit_price_minor":${i.unitPrice},"amount":${jsonString(formatMinor(amount, currency))},` +
      `"amount_minor":${typeof amount === 'bigint' ? `"${amount}"` : amount},"category":${jsonString(i.category)}}`;
  }
  return out + ']';
}

/** One exported order: orderRecord, the other amounts in minor units, deleted_at, and items when asked. */
export function exportRecord(o: OrderRow, handles: Handles, items?: readonly ItemRow[]) {
  return {
    ...orderRecord(o, handles),
    subtotal_minor: o.subtotal,
    tax_minor: o.tax,
    shipping_minor: o.shipping,
    discount_minor: o.discount,
    refunded_minor: o.refunded,
    deleted_at: o.deletedAt,
    ...(items ? { items: items.map((i) => itemRecord(i, o.currency)) } : {}),
  };
}

const csvLine = (values: ReadonlyArray<string | number | bigint | null>): string => values.map((v) => csvEscape(v === null ? '' : String(v))).join(',') + '\r\n';

function csvRows(o: OrderRow, handles: Handles, items: readonly ItemRow[] | undefined): string {
  const rec = exportRecord(o, handles) as unknown as Record<string, string | number | MinorSum | null>;
  const head = ORDER_COLUMNS.map((k) => rec[k] ?? null);
  if (!items) return csvLine(head);
  if (items.length === 0) return csvLine([...head, ...ITEM_COLUMNS.map(() => null)]);
  return items
    .map((i) => {
      const r = itemRecord(i, o.currency);
      return csvLine([...head, r.line_no, r.name, r.sku, r.quantity, r.unit_price, r.unit_price_minor, r.amount, r.amount_minor, r.category]);
    })
    .join('');
}

/** csvRows' rows for an order whose own cells (`head`, already CSV) were built by SQLite. */
function csvItemRows(head: string, items: readonly ItemRow[], currency: string): string {
  if (items.length === 0) return `${head}${','.repeat(ITEM_COLUMNS.length)}\r\n`;
  let out = '';
  for (const i of items) {
    const r = itemRecord(i, currency);
    out += `${head},${[r.line_no, r.name, r.sku, r.quantity, r.unit_price, r.unit_price_minor, r.amount, r.amount_minor, r.category].map((v) => csvEscape(v === null ? '' : String(v))).join(',')}\r\n`;
  }
  return out;
}

/** How one format's rows come from SQLite (OrderRowStream) and are finished in JavaScript. */
interface SqlRows {
  /** Without items: each order's whole text, or its id for the plain writer. */
  lines?: Iterable<string | bigint>;
  /** With items: [the order's own text, or its id for the plain writer; the id; the currency]. */
  open?: Iterable<[string | bigint, bigint, string]>;
  /** Before the order at this index. */
  separator(index: number): string;
  /** The SQL-built text of an order with its items, and its end. */
  finish(text: string, items: ItemRow[], currency: string): string;
  /** The whole order the plain way, from its row id. */
  plain(id: bigint, items: ItemRow[] | undefined): string;
  /** Apply safeJson's escapes to each chunk (JSON). */
  escape: boolean;
}

/** The SQL rows as SqlRows holds them: `open` with items, `lines` without; null when there are none. */
function source(rows: Iterable<unknown> | null, withItems: boolean): Pick<SqlRows, 'lines' | 'open'> | null {
  if (!rows) return null;
  return withItems ? { open: rows as Iterable<[string | bigint, bigint, string]> } : { lines: rows as Iterable<string | bigint> };
}

/** SqlRows for `format`, or null when SQLite cannot build them (too many connections). */
function sqlRows(rows: OrderRowStream, format: ExportFormat, handles: Handles, withItems: boolean): SqlRows | null {
  const plainRow = (id: bigint) => rowFromRaw(rows.rawRow(id));
  if (format === 'csv') {
    const csv = { handleText: (h: string | null) => csvEscape(h ?? '') };
    const from = source(withItems ? rows.openLines(handles, { csv }) : rows.lines(handles, { csv }), withItems);
    return from && {
      ...from,
      separator: () => '',
      finish: csvItemRows,
      plain: (id, its) => csvRows(plainRow(id), handles, its),
      escape: false,
    };
  }
  const pretty = format === 'json';
  const from = source(withItems ? rows.openLines(handles, { pretty }) : rows.lines(handles, { exportFields: true, pretty }), withItems);
  return from && {
    ...from,
    // `json` is the same record laid out as JSON.stringify(record, null, 2), indented as an array element.
    separator: (i) => (pretty ? (i === 0 ? '\n' : ',\n') : ''),
    finish: (text, its, currency) =>
      pretty ? `${text},\n    "items": ${safeJson(its.map((i) => itemRecord(i, currency)), 2).replace(/\n/g, '\n    ')}\n  }`
      : `${text},"items":${itemsJson(its, currency)}}\n`,
    plain: (id, its) => {
      const rec = exportRecord(plainRow(id), handles, its);
      return pretty ? safeJson(rec, 2).replace(/^/gm, '  ') : safeJson(rec) + '\n';
    },
    escape: true,
  };
}

export interface ExportCounts {
  orders: number;
  items: number;
  /** The writer's reader went away (`| head`) before the end. */
  stopped: boolean;
}

/** The items of the given orders, keyed by row id as text (OrderQueries.itemsByOrder). */
export type ItemsByOrder = (orderRowIds: readonly (number | bigint)[]) => Map<string, ItemRow[]>;

/** Chunks of about this size are handed to the writer. */
const CHUNK = 64 * 1024;

/**
 * Write orders (and with `itemsOf` their items) as CSV, JSON or NDJSON. `write` resolves when the
 * chunk is accepted (false: the reader has gone, stop quietly); between chunks the event loop gets
 * a turn so Ctrl-C is heard (`signal`).
 */
export async function streamExport(
  write: (chunk: string | Uint8Array) => Promise<boolean>,
  rows: Iterable<OrderRow>,
  format: ExportFormat,
  handles: Handles,
  itemsOf: ItemsByOrder | undefined,
  signal?: AbortSignal,
  /** The writer is a terminal: it gets text (io.write sanitises it), never bytes. */
  tty = false,
): Promise<ExportCounts> {
  let buf = format === 'csv' ? csvLine([...ORDER_COLUMNS, ...(itemsOf ? ITEM_COLUMNS : [])]) : format === 'json' ? '[' : '';
  let orders = 0;
  let items = 0;
  const flush = async (escape = false): Promise<boolean> => {
    // SQL-built JSON (below) gets safeJson's escapes here, chunk by chunk (they rewrite single
    // characters, so a chunk and its lines agree; the text safeJson made already is left as is):
    // encoded once, and the bytes searched, as `orders --ndjson` does (orders-view.ts).
    const chunk = escape ? jsonChunk(buf, tty).chunk : buf;
    buf = '';
    const ok = chunk.length === 0 ? true : await write(chunk);
    await new Promise<void>((resolve) => setImmediate(resolve));
    return ok && !signal?.aborted;
  };
  /** The end of `json`'s array (`[]` when empty). */
  const closeJson = () => {
    if (format === 'json') buf += orders === 0 ? ']\n' : '\n]\n';
  };
  const sql = rows instanceof OrderRowStream ? sqlRows(rows, format, handles, itemsOf !== undefined) : null;
  if (sql) {
    // Without an object per row: each order's own part is built by SQLite (src/store/order-lines.ts),
    // its items, when asked, are read ITEM_BATCH orders at a time and appended; a row SQLite cannot
    // vouch for comes back as its id and is written the plain way. Pinned by
    // test/speed.equivalence.test.ts (every format, with and without items, hostile data).
    if (!sql.open) {
      for (const v of sql.lines!) {
        buf += sql.separator(orders) + (typeof v === 'string' ? v : sql.plain(v, undefined));
        orders++;
        if (buf.length >= CHUNK && !(await flush(sql.escape))) return { orders, items, stopped: true };
      }
      closeJson();
      return { orders, items, stopped: !(await flush(sql.escape)) };
    }
    const held: Array<[string | bigint, bigint, string]> = [];
    const emit = () => {
      const byOrder = itemsOf!(held.map((h) => h[1]));
      for (const [v, id, currency] of held) {
        const its = byOrder.get(String(id)) ?? [];
        items += its.length;
        buf += sql.separator(orders) + (typeof v === 'string' ? sql.finish(v, its, currency) : sql.plain(v, its));
        orders++;
      }
      held.length = 0;
    };
    for (const row of sql.open) {
      held.push(row);
      if (held.length < ITEM_BATCH) continue;
      emit();
      if (buf.length >= CHUNK && !(await flush(sql.escape))) return { orders, items, stopped: true };
    }
    emit();
    closeJson();
    return { orders, items, stopped: !(await flush(sql.escape)) };
  }
  for (const o of rows) {
    const its = itemsOf ? (itemsOf([o.id]).get(String(o.id)) ?? []) : undefined;
    items += its?.length ?? 0;
    if (format === 'csv') buf += csvRows(o, handles, its);
    else if (format === 'ndjson') buf += safeJson(exportRecord(o, handles, its)) + '\n';
    else buf += `${orders === 0 ? '\n' : ',\n'}${safeJson(exportRecord(o, handles, its), 2).replace(/^/gm, '  ')}`;
    orders++;
    // Leaving the loop early also closes the SQLite statement behind the iterator.
    if (buf.length >= CHUNK && !(await flush())) return { orders, items, stopped: true };
  }
  closeJson();
  return { orders, items, stopped: !(await flush()) };
}
