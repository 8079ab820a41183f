/**
 * Rendering of records: a table on a TTY, tab-separated text when piped, JSON / NDJSON / CSV on
 * request. `--json` is a contract: each listing declares its fields and prints nothing else.
 */
import { createRequire } from 'node:module';
import type TableClass from 'cli-table3';

// cli-table3 (CommonJS) is loaded on the first table, i.e. only on a terminal: piped, JSON and
// CSV output never pay for it at start-up.
let TableCtor: typeof TableClass | undefined;
const loadTable = (): typeof TableClass => (TableCtor ??= createRequire(import.meta.url)('cli-table3') as typeof TableClass);
import type { IO } from './io.js';
import { displayWidth, safeJson, safeText, truncateCells, tsvCell } from './safe-text.js';

export type Format = 'table' | 'json' | 'ndjson' | 'csv' | 'tsv';

export interface Column<T> {
  /** Field name in JSON/CSV output and the header in tables. */
  key: string;
  header?: string;
  get: (row: T) => string | number | boolean | null | undefined;
  align?: 'left' | 'right';
  /** Never cut this column to fit the terminal (right-aligned columns, amounts, are never cut). */
  fixed?: boolean;
  /** Optional colouring for the table cell (TTY only). */
  style?: (value: string, row: T) => string;
}

export function pickFormat(
  io: IO,
  flags: { json?: boolean; ndjson?: boolean; csv?: boolean },
): Format {
  if (flags.json) return 'json';
  if (flags.ndjson) return 'ndjson';
  if (flags.csv) return 'csv';
  return io.stdoutIsTTY ? 'table' : 'tsv';
}

const cell = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** A cell that is exactly a plain number (what a spreadsheet may read as one): "-4.37", "1200". */
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;
/**
 * Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"): = + - @,
 * tab and CR, and their full-width forms, which some spreadsheets fold to ASCII.
 */
const FORMULA_START = /^[\s"']*[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]/;

/**
 * One CSV cell (RFC 4180), safe to open in a spreadsheet, following OWASP's CSV-injection
 * guidance: NUL is removed; a cell that starts with = + - @ tab or CR — also after leading
 * whitespace or quote characters — is prefixed with a single quote, unless the whole cell is
 * exactly a plain number (`-4.37` stays a number; `-2+3+cmd|' /C calc'!A0` does not); a cell with
 * a quote, comma or line break is quoted, its quotes doubled.
 */
export function csvEscape(v: string): string {
  const text = v.replace(/\0/g, '');
  const safe = !PLAIN_NUMBER.test(text) && FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function renderRows<T>(io: IO, rows: readonly T[], columns: readonly Column<T>[], format: Format, jsonRows?: readonly unknown[]): void {
  switch (format) {
    case 'json':
      io.out(safeJson(jsonRows ?? rows.map((r) => toRecord(r, columns)), 2));
      return;
    case 'ndjson':
      for (const r of jsonRows ?? rows.map((r) => toRecord(r, columns))) io.out(safeJson(r));
      return;
    case 'csv':
      io.out(columns.map((c) => csvEscape(c.key)).join(','));
      for (const r of rows) io.out(columns.map((c) => csvEscape(cell(c.get(r)))).join(','));
      return;
    case 'tsv':
      for (const r of rows) io.out(columns.map((c) => tsvCell(c.get(r))).join('\t'));
      return;
    case 'table':
      io.out(renderTable(io, rows, columns));
      return;
  }
}

export function toRecord<T>(row: T, columns: readonly Column<T>[]): Record<string, unknown> {
  const rec: Record<string, unknown> = {};
  for (const c of columns) rec[c.key] = c.get(row) ?? null;
  return rec;
}

/** What a table adds around its cells: a border before each column and after the last, a space each side. */
const tableOverhead = (n: number): number => 3 * n + 1;
/** A column cut to fit is never narrower than its header or this many cells. */
const MIN_CUT = 6;

/**
 * Widths that fit `budget` terminal cells: the widest cuttable column loses a cell at a time (so
 * long text — item names, retailers, ids — is cut first and short columns keep their text). If
 * even that cannot fit, the columns stop at their minimum and the terminal wraps.
 */
export function fitWidths(natural: readonly number[], mins: readonly number[], cuttable: readonly boolean[], budget: number): number[] {
  const w = [...natural];
  let excess = w.reduce((a, b) => a + b, 0) - budget;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < w.length; i++) if (cuttable[i] && w[i]! > mins[i]! && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break;
    w[widest]!--;
    excess--;
  }
  return w;
}

export function renderTable<T>(io: IO, rows: readonly T[], columns: readonly Column<T>[]): string {
  const Table = loadTable();
  // Sanitised first, then measured and cut at grapheme boundaries (truncateCells), then styled.
  const cells = rows.map((r) => columns.map((c) => safeText(cell(c.get(r)))));
  const heads = columns.map((c) => safeText(c.header ?? c.key));
  const natural = columns.map((_, j) => Math.max(displayWidth(heads[j]!), ...cells.map((row) => displayWidth(row[j]!))));
  const widths = fitWidths(
    natural,
    columns.map((_, j) => Math.min(natural[j]!, Math.max(displayWidth(heads[j]!), MIN_CUT))),
    columns.map((c) => !c.fixed && c.align !== 'right'),
    io.columns - tableOverhead(columns.length),
  );
  const table = new Table({
    head: columns.map((_, j) => io.color.bold(widths[j]! < displayWidth(heads[j]!) ? truncateCells(heads[j]!, widths[j]!) : heads[j]!)),
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    colAligns: columns.map((c) => c.align ?? 'left'),
    wordWrap: false,
  });
  rows.forEach((r, i) => {
    table.push(
      columns.map((c, j) => {
        // Sanitised before styling: the colour codes are ours, the text may be a provider's.
        const raw = cells[i]![j]!;
        const v = widths[j]! < natural[j]! ? truncateCells(raw, widths[j]!) : raw;
        return c.style ? c.style(v, r) : v;
      }),
    );
  });
  return table.toString();
}

/**
 * Two-column "key  value" block for `show`/`status` commands on a TTY or piped. Each value is
 * sanitised, then styled with the pair's optional colour (ours), never the other way round.
 */
export function renderKeyValues(io: IO, pairs: ReadonlyArray<readonly [string, unknown, ((s: string) => string)?]>): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v, style] of pairs) {
    const text = safeText(cell(v));
    io.out(`${io.color.dim(safeText(k).padEnd(width))}  ${style ? style(text) : text}`);
  }
}

/** JSON for `--json`: see safeJson (DEL, C1 and bidi characters escaped, bigints as strings). */
export function printJson(io: IO, value: unknown): void {
  io.out(safeJson(value, 2));
}
