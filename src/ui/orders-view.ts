/**
 * How orders look: the `--json` record (a contract), the columns of the table, the piped text and
 * CSV, streamed writers for exports of any size, and the detail view of one order. Money is always
 * shown in its own currency with that currency's decimals (¥1,200, $12.34, KWD 12.345).
 */
import { displayMoney, lineAmount, formatMinor, type MinorSum } from '../connectors/money.js';
import { OrderRowStream, RAW, type ItemRow, type OrderRow, type OrderSummary } from '../store/queries.js';
import type { IO } from './io.js';
import { csvEscape, renderKeyValues, renderTable, type Column, type Format } from './render.js';
import { statusColor } from './format.js';
import { JSON_ESCAPED, jsonEscapeRaw, safeJson, safeText, tsvCell } from './safe-text.js';

/** Connection id → its handle (`sandbox:work`), for display. */
export type Handles = ReadonlyMap<number, string>;

/**
 * The exported fields of an order in `--json`, `--ndjson` and `--csv` (add, never rename).
 * Amounts are decimal strings in major units with the currency's exact decimals ("12.30",
 * "1200", "12.345"): exact, unlike a JSON number, and what a spreadsheet expects. `total_minor`
 * is the same total as an integer in minor units, for tools that sum.
 */
export function orderRecord(o: OrderRow, handles: Handles) {
  const m = (minor: MinorSum) => formatMinor(minor, o.currency);
  return {
    id: o.id,
    connection_id: o.connectionId,
    connection: handles.get(o.connectionId) ?? null,
    order_id: o.orderId,
    retailer: o.retailer,
    order_date: o.orderDate,
    status: o.status,
    currency: o.currency,
    subtotal: m(o.subtotal),
    tax: m(o.tax),
    shipping: m(o.shipping),
    discount: m(o.discount),
    total: m(o.total),
    refunded: m(o.refunded),
    total_minor: o.total,
    item_count: o.itemCount,
    first_seen_at: o.firstSeenAt,
    updated_at: o.updatedAt,
  };
}
export type OrderRecord = ReturnType<typeof orderRecord>;

/** CSV columns: the record minus what only machines reading JSON need. */
const CSV_FIELDS = ['id', 'connection', 'order_id', 'order_date', 'retailer', 'status', 'currency', 'subtotal', 'tax', 'shipping', 'discount', 'total', 'refunded', 'item_count'] as const;

const csvLine = (values: ReadonlyArray<string | number | null>): string => values.map((v) => csvEscape(v === null ? '' : String(v))).join(',') + '\r\n';

/**
 * The columns of piped (non-TTY, no format flag) output, in order: a contract, documented in
 * `orders --help` and the README (add at the end, never reorder). No header unless --header.
 */
export const TSV_COLUMNS = ['order_date', 'connection', 'order_id', 'retailer', 'status', 'currency', 'total', 'item_count'] as const;

/** One line of piped output: TSV_COLUMNS, tab-separated. */
function tsvLine(o: OrderRow, handles: Handles): string {
  return [o.orderDate, handles.get(o.connectionId) ?? String(o.connectionId), o.orderId, o.retailer, o.status, o.currency, formatMinor(o.total, o.currency), o.itemCount].map(tsvCell).join('\t') + '\n';
}

export interface WriteResult {
  rows: number;
  /** The reader went away (EPIPE) before the end. */
  stopped: boolean;
}

/** Chunks of about this size go to stdout: few syscalls, little memory. */
const CHUNK = 64 * 1024;

/**
 * Write rows as JSON, NDJSON, CSV or piped text from an iterator, in constant memory: output is
 * batched into chunks, each written with backpressure (io.write), and the loop stops as soon as
 * the reader has gone (`| head`). Between chunks the event loop gets a turn, so Ctrl-C is heard.
 */
export async function streamOrders(
  io: IO,
  rows: Iterable<OrderRow>,
  format: Exclude<Format, 'table'>,
  handles: Handles,
  signal?: AbortSignal,
  opts: { header?: boolean } = {},
): Promise<WriteResult> {
  let buf = '';
  let n = 0;
  // NDJSON chunks are encoded into a buffer, reused while the stream keeps no reference to it.
  let spare: Buffer | undefined;
  const flush = async (escape = false): Promise<boolean> => {
    const { chunk, room } = escape ? jsonChunk(buf, io.stdoutIsTTY, spare) : { chunk: buf, room: undefined };
    buf = '';
    spare = undefined;
    if (chunk === '') return !io.stdoutClosed;
    const ok = await io.write(chunk, signal);
    // Reused only once the process's stdout has handed the bytes to the kernel (io.ts).
    if (room && io.stdoutHandedOff()) spare = room;
    await new Promise<void>((resolve) => setImmediate(resolve));
    return ok && !signal?.aborted;
  };
  if (format === 'ndjson' && rows instanceof OrderRowStream) {
    // The lines of safeJson(orderRecord(row)) without an object per row: built by SQLite where it
    // can (OrderRowStream.lines), else from raw rows (ndjsonLine); safeJson's escapes are applied
    // to each chunk (they rewrite single characters, so a chunk and its lines agree).
    const line = ndjsonLine(handles);
    const lines = rows.lines(handles);
    const source: Iterable<string | bigint | unknown[]> = lines ?? rows.raw();
    for (const v of source) {
      buf += typeof v === 'string' ? v : line(typeof v === 'bigint' ? rows.rawRow(v) : v);
      n++;
      // Leaving the loop early also closes the SQLite statement behind the iterator.
      if (buf.length >= CHUNK && !(await flush(true))) return { rows: n, stopped: true };
    }
    return { rows: n, stopped: !(await flush(true)) };
  }
  if (format === 'json') buf += '[';
  if (format === 'csv') buf += csvLine(CSV_FIELDS);
  if (format === 'tsv' && opts.header) buf += TSV_COLUMNS.join('\t') + '\n';
  for (const o of rows) {
    const rec = format === 'tsv' ? null : orderRecord(o, handles);
    if (format === 'json') buf += `${n === 0 ? '\n' : ',\n'}${safeJson(rec, 2).replace(/^/gm, '  ')}`;
    else if (format === 'ndjson') buf += safeJson(rec) + '\n';
    else if (format === 'csv') buf += csvLine(CSV_FIELDS.map((k) => rec![k]));
    else buf += tsvLine(o, handles);
    n++;
    if (buf.length >= CHUNK && !(await flush())) return { rows: n, stopped: true };
  }
  if (format === 'json') buf += n === 0 ? ']\n' : '\n]\n';
  return { rows: n, stopped: !(await flush()) };
}

/**
 * A chunk of JSON text with safeJson's escapes (jsonEscapeRaw). Piped, it is encoded here (into
 * `spare` when it is big enough) and the bytes are searched for what jsonEscapeRaw rewrites, which
 * is quicker than a regular expression over the text and spares the stream its own encoding; a
 * terminal gets text (io.write sanitises). `room`: the buffer the bytes are in.
 */
export function jsonChunk(text: string, tty: boolean, spare?: Buffer): { chunk: string | Uint8Array; room?: Buffer } {
  if (tty || text === '') return { chunk: JSON_ESCAPED.test(text) ? jsonEscapeRaw(text) : text };
  // Room for the worst case (3 bytes per UTF-16 unit) spares Buffer.from its measuring pass.
  const room = spare && spare.length >= text.length * 3 ? spare : Buffer.allocUnsafe(text.length * 3);
  const bytes = room.subarray(0, room.write(text, 'utf8'));
  return escapedBytes(bytes) ? { chunk: jsonEscapeRaw(text) } : { chunk: bytes, room };
}

/**
 * Whether UTF-8 bytes hold a character jsonEscapeRaw rewrites: DEL (7F), a C1 control (C2 80–9F),
 * U+061C (D8 9C), or U+200E/F, U+2028–202E, U+2066–2069 (E2 80 8E/8F, E2 80 A8–AE, E2 81 A6–A9).
 * Lead bytes are found with indexOf (a memchr), so text without them costs a few fast scans.
 */
export function escapedBytes(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.indexOf(0x7f) !== -1) return true;
  for (let i = buf.indexOf(0xc2); i !== -1; i = buf.indexOf(0xc2, i + 1)) if (buf[i + 1]! >= 0x80 && buf[i + 1]! <= 0x9f) return true;
  for (let i = buf.indexOf(0xd8); i !== -1; i = buf.indexOf(0xd8, i + 1)) if (buf[i + 1] === 0x9c) return true;
  for (let i = buf.indexOf(0xe2); i !== -1; i = buf.indexOf(0xe2, i + 1)) {
    const [b1, b2] = [buf[i + 1]!, buf[i + 2]!];
    if (b1 === 0x80 && (b2 === 0x8e || b2 === 0x8f || (b2 >= 0xa8 && b2 <= 0xae))) return true;
    if (b1 === 0x81 && b2 >= 0xa6 && b2 <= 0xa9) return true;
  }
  return false;
}

/** A string JSON.stringify writes as itself in quotes: no quote, backslash, control or surrogate. */
const PLAIN_STRING = /^[^"\\\x00-\x1f\ud800-\udfff]*$/;
/** JSON.stringify(s) for a string or null, without its general machinery for the common case. */
export const jsonString = (s: unknown): string => (typeof s === 'string' && PLAIN_STRING.test(s) ? `"${s}"` : JSON.stringify(s));

/**
 * `JSON.stringify(orderRecord(row, handles)) + '\n'` for a raw row (OrderRowStream.raw()), byte
 * for byte, at about half the cost (safeJson's escapes are the caller's, per chunk): the line is
 * written as one template (keys in orderRecord's order), strings that need no escaping are quoted
 * as they are, and each currency's amounts are formatted once per distinct value (formatMinor;
 * prices and zero taxes repeat across a big export).
 */
function ndjsonLine(handles: Handles): (r: unknown[]) => string {
  const conn = new Map<unknown, string>();
  const amounts = new Map<string, Map<unknown, string>>();
  return (r) => {
    const currency = r[RAW.currency] as string;
    let cache = amounts.get(currency);
    if (!cache) amounts.set(currency, (cache = new Map()));
    const m = (v: unknown): string => {
      let s = cache.get(v);
      if (s === undefined) {
        s = formatMinor(v as MinorSum, currency);
        if (cache.size < 50_000) cache.set(v, s);
      }
      return s;
    };
    const cid = r[RAW.connectionId];
    let handle = conn.get(cid);
    if (handle === undefined) conn.set(cid, (handle = JSON.stringify(handles.get(cid as number) ?? null)));
    return (
      `{"id":${r[RAW.id]},"connection_id":${cid},"connection":${handle},"order_id":${jsonString(r[RAW.orderId])},"retailer":${jsonString(r[RAW.retailer])},` +
      `"order_date":${jsonString(r[RAW.orderDate])},"status":${jsonString(r[RAW.status])},"currency":${jsonString(currency)},"subtotal":"${m(r[RAW.subtotal])}",` +
      `"tax":"${m(r[RAW.tax])}","shipping":"${m(r[RAW.shipping])}","discount":"${m(r[RAW.discount])}","total":"${m(r[RAW.total])}","refunded":"${m(r[RAW.refunded])}",` +
      `"total_minor":${r[RAW.total]},"item_count":${r[RAW.itemCount]},"first_seen_at":${jsonString(r[RAW.firstSeenAt])},"updated_at":${jsonString(r[RAW.updatedAt])}}\n`
    );
  };
}

/** The table people see on a terminal. The connection column appears only when rows span several. */
export function orderTable(io: IO, rows: readonly OrderRow[], handles: Handles): string {
  const many = new Set(rows.map((r) => r.connectionId)).size > 1;
  const columns: Column<OrderRow>[] = [
    { key: 'date', get: (o) => o.orderDate.slice(0, 10) },
    { key: 'order', get: (o) => o.orderId },
    ...(many ? [{ key: 'connection', get: (o: OrderRow) => handles.get(o.connectionId) ?? String(o.connectionId) }] : []),
    { key: 'retailer', get: (o) => o.retailer },
    { key: 'status', get: (o) => o.status, style: (v) => statusColor(io.color, v) },
    { key: 'items', get: (o) => o.itemCount, align: 'right' },
    { key: 'total', get: (o) => displayMoney(o.total, o.currency), align: 'right' },
  ];
  return renderTable(io, rows, columns);
}

/** "$1,234.56 · ¥12,000 · €9.90": one amount per currency, never added together. */
export function moneyList(totals: ReadonlyArray<{ total: MinorSum; currency: string }>): string {
  return totals.map((t) => safeText(displayMoney(t.total, t.currency))).join(' · ');
}

const plural = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/**
 * The line under the table: how many orders match, what they add up to per currency, and how to
 * see more when the listing was cut at --limit.
 */
export function listFooter(io: IO, shown: number, summary: OrderSummary, limited: boolean): string {
  const c = io.color;
  if (!summary.exact) {
    return c.dim(`${plural(shown, 'order')} shown of at least ${summary.orders.toLocaleString('en-US')} matching (too many to total quickly: narrow the filters, or use --json / --csv)`);
  }
  const head = shown < summary.orders ? `${shown.toLocaleString('en-US')} of ${plural(summary.orders, 'order')}` : plural(summary.orders, 'order');
  const more = limited && shown < summary.orders ? c.dim(` (--limit ${Math.min(summary.orders, Math.max(shown * 2, 100))} for more)`) : '';
  return `${c.bold(head)}${summary.totals.length ? ` ${c.dim('·')} ${moneyList(summary.totals)}` : ''}${more}`;
}

/** `orders show`: the order, its amounts and its items. */
export function renderOrderDetail(io: IO, o: OrderRow, items: readonly ItemRow[], handle: string): void {
  const c = io.color;
  const money = (minor: MinorSum) => displayMoney(minor, o.currency);
  // Provider text is sanitised (safeText) before our colours wrap it.
  io.out(`${c.bold(safeText(o.orderId))}  ${safeText(o.retailer)}  ${statusColor(c, safeText(o.status))}${o.deletedAt ? `  ${c.red(`deleted at the provider ${safeText(o.deletedAt)}`)}` : ''}`);
  const pairs: Array<readonly [string, unknown, ((s: string) => string)?]> = [
    ['connection', handle],
    ['placed', o.orderDate.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1 UTC')],
    ['subtotal', money(o.subtotal)],
    ['tax', money(o.tax)],
    ['shipping', money(o.shipping)],
  ];
  if (o.discount) pairs.push(['discount', money(-o.discount)]);
  pairs.push(['total', money(o.total), c.bold]);
  if (o.refunded) pairs.push(['refunded', money(o.refunded), c.yellow]);
  pairs.push(['first seen', o.firstSeenAt], ['updated', o.updatedAt]);
  renderKeyValues(io, pairs);
  io.out();
  if (items.length === 0) {
    io.out(c.dim('No line items (this provider reports order totals only).'));
    return;
  }
  const columns: Column<ItemRow>[] = [
    { key: '#', get: (i) => i.lineNo, align: 'right' },
    { key: 'item', get: (i) => i.name },
    { key: 'sku', get: (i) => i.sku ?? '' },
    { key: 'qty', get: (i) => i.quantity, align: 'right' },
    { key: 'unit', get: (i) => money(i.unitPrice), align: 'right' },
    { key: 'amount', get: (i) => money(lineAmount(i.unitPrice, i.quantity)), align: 'right' },
    { key: 'category', get: (i) => i.category ?? '' },
  ];
  if (io.stdoutIsTTY) io.out(renderTable(io, items, columns));
  else for (const i of items) io.out(columns.map((col) => tsvCell(col.get(i) ?? '')).join('\t'));
}

/** The exported fields of `orders show --json`: the order record plus its items. */
export function orderDetailRecord(o: OrderRow, items: readonly ItemRow[], handles: Handles) {
  const m = (minor: MinorSum) => formatMinor(minor, o.currency);
  return {
    ...orderRecord(o, handles),
    deleted_at: o.deletedAt,
    items: items.map((i) => ({
      line_no: i.lineNo,
      name: i.name,
      sku: i.sku,
      quantity: i.quantity,
      unit_price: m(i.unitPrice),
      amount: m(lineAmount(i.unitPrice, i.quantity)),
      amount_minor: lineAmount(i.unitPrice, i.quantity),
      category: i.category,
    })),
  };
}
