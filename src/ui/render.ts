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

export type Format = 'table' | 'json' | 'ndjson' | 'csv' | 'tsv';

export interface Column<T> {
  /** Field name in JSON/CSV output and the header in tables. */
  key: string;
  header?: string;
  get: (row: T) => string | number | boolean | null | undefined;
  align?: 'left' | 'right';
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

export function csvEscape(v: string): string {
  // Neutralise spreadsheet formula injection from provider-controlled text (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(v) && !/^-?\d/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function renderRows<T>(io: IO, rows: readonly T[], columns: readonly Column<T>[], format: Format, jsonRows?: readonly unknown[]): void {
  switch (format) {
    case 'json':
      io.out(JSON.stringify(jsonRows ?? rows.map((r) => toRecord(r, columns)), null, 2));
      return;
    case 'ndjson':
      for (const r of jsonRows ?? rows.map((r) => toRecord(r, columns))) io.out(JSON.stringify(r));
      return;
    case 'csv':
      io.out(columns.map((c) => csvEscape(c.key)).join(','));
      for (const r of rows) io.out(columns.map((c) => csvEscape(cell(c.get(r)))).join(','));
      return;
    case 'tsv':
      for (const r of rows) io.out(columns.map((c) => cell(c.get(r)).replace(/[\t\n]/g, ' ')).join('\t'));
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

export function renderTable<T>(io: IO, rows: readonly T[], columns: readonly Column<T>[]): string {
  const Table = loadTable();
  const table = new Table({
    head: columns.map((c) => io.color.bold(c.header ?? c.key)),
    style: { head: [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    colAligns: columns.map((c) => c.align ?? 'left'),
    wordWrap: false,
  });
  for (const r of rows) {
    table.push(
      columns.map((c) => {
        const v = cell(c.get(r));
        return c.style ? c.style(v, r) : v;
      }),
    );
  }
  return table.toString();
}

/** Two-column "key  value" block for `show`/`status` commands on a TTY or piped. */
export function renderKeyValues(io: IO, pairs: ReadonlyArray<readonly [string, unknown]>): void {
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) io.out(`${io.color.dim(k.padEnd(width))}  ${cell(v)}`);
}

export function printJson(io: IO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
