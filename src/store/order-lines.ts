/**
 * `orders --ndjson` and `export` NDJSON lines written by SQLite itself (issue 12's export goal): one `printf` per row
 * builds the whole line, so better-sqlite3 hands JavaScript one string instead of seventeen
 * values, and JavaScript builds nothing. The line is `JSON.stringify(orderRecord(row, handles))`
 * byte for byte, before the escapes safeJson adds (DEL, C1, bidi, U+2028/2029), which the writer
 * applies to each chunk (src/ui/orders-view.ts). Pinned by test/speed.equivalence.test.ts.
 *
 * Why it is the same text:
 * - strings go through `json_quote`, which escapes `"`, `\` and every C0 control as JSON.stringify
 *   does (`\b \t \n \f \r`, else `\u00XX` in lower case) and leaves everything else as it is;
 *   JavaScript then decodes the line's UTF-8 as it would decode each value alone (the values sit
 *   between ASCII quotes, so even bytes that are not UTF-8 become the same U+FFFD);
 * - integers are printed by `%d`, as JavaScript prints a number while it is a safe integer;
 * - amounts are formatMinor's text: sign, whole units, then the currency's exponent in digits.
 * A row the SQL cannot vouch for comes back as its id (a bigint) instead of a line, and the writer
 * formats it the JavaScript way: an integer beyond 2^53 − 1 (JavaScript would print other digits),
 * or a currency code that is not ASCII (currencyExponent upper-cases it with JavaScript's rules,
 * under which "ı" becomes "I"; SQLite's upper() only knows ASCII).
 */
import { EXPONENTS_NOT_2 } from '../connectors/money.js';

const SAFE = Number.MAX_SAFE_INTEGER;
const AMOUNTS = ['subtotal', 'tax', 'shipping', 'discount', 'total', 'refunded'] as const;
/** exportRecord's `*_minor` fields, in its order (total_minor is orderRecord's). */
const EXPORT_MINOR = ['subtotal', 'tax', 'shipping', 'discount', 'refunded'] as const;

/** With more connections than this, the lines are not built in SQL (the handle CASE grows per row). */
export const MAX_SQL_HANDLES = 64;

export interface LineSql {
  /** A column expression: the line (with its '\n'), or the order's id for a row to format in JavaScript. */
  expr: string;
  /** Named parameters of expr (the handles), bound beside the query's positional ones. */
  params: Record<string, string | number>;
}

export interface LineOptions {
  /**
   * `orderlink export`'s record (exportRecord, src/ui/export-view.ts): after orderRecord's fields,
   * the other amounts in minor units and `deleted_at`.
   */
  exportFields?: boolean;
  /** Leave the object open (no closing `}` and newline): the caller appends the items. */
  open?: boolean;
  /** `export --format json`'s layout (see below) instead of one compact line. */
  pretty?: boolean;
  /**
   * `export --format csv`'s row (ORDER_COLUMNS of src/ui/export-view.ts) instead of JSON:
   * `handleText` is a connection handle's cell as csvEscape writes it. Only rows whose text
   * cells csvEscape leaves as they are (printable ASCII starting with a letter or digit, no quote,
   * comma or NUL) are built in SQL; the others come back as ids, for JavaScript.
   */
  csv?: { handleText: (handle: string | null) => string };
}

/** `handles`: connection id → handle, as orderRecord shows it (`connection`); others are null. */
export function orderLineSql(handles: ReadonlyMap<number, string>, opts: LineOptions = {}): LineSql | null {
  if (handles.size > MAX_SQL_HANDLES) return null;
  const params: Record<string, string | number> = {};
  const whens: string[] = [];
  let k = 0;
  const cell = (handle: string | null): string => (opts.csv ? opts.csv.handleText(handle) : JSON.stringify(handle));
  for (const [id, handle] of handles) {
    params[`c${k}`] = id;
    params[`h${k}`] = cell(handle);
    whens.push(`WHEN @c${k} THEN @h${k}`);
    k++;
  }
  params.hnone = cell(null);
  const connection = whens.length ? `CASE o.connection_id ${whens.join(' ')} ELSE @hnone END` : '@hnone';

  const byExponent = new Map<number, string[]>();
  for (const [code, e] of Object.entries(EXPONENTS_NOT_2)) byExponent.set(e, [...(byExponent.get(e) ?? []), `'${code.replace(/[^A-Z]/g, '')}'`]);
  /** The line for exponent e; `signed`: for rows with a negative amount (the others skip the sign work). */
  const printfLine = (e: number, signed: boolean): string => {
    const p = 10 ** e;
    // formatMinor: "-" for a negative amount, the whole units, then exactly e digits.
    const money =
      e === 0 ? { fmt: '%d', args: (c: string) => [c] }
      : signed ? { fmt: `%s%d.%0${e}d`, args: (c: string) => [`iif(${c} < 0, '-', '')`, `abs(${c}) / ${p}`, `abs(${c}) % ${p}`] }
      : { fmt: `%d.%0${e}d`, args: (c: string) => [`${c} / ${p}`, `${c} % ${p}`] };
    const text = (c: string) => [`json_quote(${c})`];
    const fields: Array<[key: string, fmt: string, args: string[]]> = [
      ['id', '%d', ['o.id']],
      ['connection_id', '%d', ['o.connection_id']],
      ['connection', '%s', [connection]],
      ...(['order_id', 'retailer', 'order_date', 'status', 'currency'] as const).map((c): [string, string, string[]] => [c, '%s', text(`o.${c}`)]),
      ...AMOUNTS.map((a): [string, string, string[]] => [a, `"${money.fmt}"`, money.args(`o.${a}`)]),
      ['total_minor', '%d', ['o.total']],
      ['item_count', '%d', ['o.item_count']],
      ['first_seen_at', '%s', text('o.first_seen_at')],
      ['updated_at', '%s', text('o.updated_at')],
      ...(opts.exportFields ? [...EXPORT_MINOR.map((a): [string, string, string[]] => [`${a}_minor`, '%d', [`o.${a}`]]), ['deleted_at', '%s', text('o.deleted_at')] as [string, string, string[]]] : []),
    ];
    // CSV: the export's columns, cells as csvEscape leaves them (the row was vouched for below).
    const csvFields: Array<[string, string[]]> = [
      ['%d', ['o.id']],
      ['%s', [connection]],
      ...(['order_id', 'order_date', 'retailer', 'status', 'currency'] as const).map((c): [string, string[]] => ['%s', [`o.${c}`]]),
      ...AMOUNTS.flatMap((a): Array<[string, string[]]> => [[money.fmt, money.args(`o.${a}`)], ['%d', [`o.${a}`]]]),
      ['%d', ['o.item_count']],
      ['%s', ["coalesce(o.deleted_at, '')"]],
    ];
    if (opts.csv) return `printf('${csvFields.map(([f]) => f).join(',')}${opts.open ? '' : '\r\n'}', ${csvFields.flatMap(([, a]) => a).join(', ')})`;
    // Compact: JSON.stringify(record) and a newline. Pretty: JSON.stringify(record, null, 2) with
    // every line indented two more spaces, as an element of `export --format json`'s array.
    const fmt = opts.pretty
      ? `  {${fields.map(([key, f]) => `\n    "${key}": ${f}`).join(',')}${opts.open ? '' : '\n  }'}`
      : `{${fields.map(([key, f]) => `"${key}":${f}`).join(',')}${opts.open ? '' : '}\n'}`;
    const args = fields.flatMap(([, , a]) => a);
    return `printf('${fmt}', ${args.join(', ')})`;
  };
  // Amounts are rarely negative: integer division and remainder alone format the others.
  const nonNegative = AMOUNTS.map((a) => `o.${a} >= 0`).join(' AND ');
  const line = (e: number): string => (e === 0 ? printfLine(0, true) : `CASE WHEN ${nonNegative} THEN ${printfLine(e, false)} ELSE ${printfLine(e, true)} END`);
  const safe = (c: string) => `${c} BETWEEN ${-SAFE} AND ${SAFE}`;
  // A CSV cell csvEscape returns unchanged: printable ASCII, a letter or digit first (so never a
  // formula start), no quote, comma or NUL (nothing to quote, nothing to drop).
  const plainCell = (c: string) => `(${c} GLOB '[A-Za-z0-9]*' AND NOT ${c} GLOB '*[^ -~]*' AND length(${c}) = octet_length(${c}) AND instr(${c}, '"') = 0 AND instr(${c}, ',') = 0 AND instr(${c}, char(0)) = 0)`;
  const csvCells = opts.csv ? [...['o.order_id', 'o.order_date', 'o.retailer', 'o.status', 'o.currency'].map(plainCell), `(o.deleted_at IS NULL OR ${plainCell('o.deleted_at')})`] : [];
  const vouched = [...[...['o.id', 'o.connection_id', 'o.item_count'], ...AMOUNTS.map((a) => `o.${a}`)].map(safe), ...csvCells].join(' AND ');
  // Most orders are in a currency with 2 decimals: one test sends them to their line.
  const groups = [...byExponent].sort(([a], [b]) => a - b);
  const others = groups.flatMap(([, codes]) => codes).join(', ');
  const branches = groups.map(([e, codes], i) => (i === groups.length - 1 ? `ELSE ${line(e)}` : `WHEN upper(o.currency) IN (${codes.join(', ')}) THEN ${line(e)}`));
  const expr = `CASE WHEN NOT (${vouched} AND length(o.currency) = octet_length(o.currency)) THEN o.id WHEN upper(o.currency) NOT IN (${others}) THEN ${line(2)} ${branches.join(' ')} END`;
  return { expr, params };
}
