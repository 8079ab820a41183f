/**
 * How reconciliation speaks: the run summary, the rows, the questions, and the lines `orders stats
 * --include-charges` adds. Bank and shop text is made safe for a terminal before it is shown.
 */
import { displayMoney, formatMinor } from '../connectors/money.js';
import type { IO } from '../ui/io.js';
import { renderTable, type Column } from '../ui/render.js';
import { tsvCell } from '../ui/safe-text.js';
import type { RecView, RunResult } from './index.js';
import type { WithCharges } from './stats.js';

const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ');

export function runLines(io: IO, r: RunResult): string[] {
  const c = io.color;
  const lines = [
    `${r.dry_run ? c.yellow('Dry run (nothing saved): ') : ''}Reconciled card charges with orders${r.since ? ` from ${r.since}` : ''}:`,
    `  matched            ${r.matched}${r.confirmed ? `  (+ ${r.confirmed} confirmed by you)` : ''}`,
    `  ambiguous          ${r.ambiguous}${r.ambiguous ? `  ${c.dim('→ orderlink reconcile --review')}` : ''}`,
    `  unmatched charges  ${r.unmatched_charges}`,
    `  unmatched orders   ${r.unmatched_orders}`,
  ];
  if (r.rejected) lines.push(`  rejected by you    ${r.rejected}`);
  if (r.bounded) lines.push(`  ${c.yellow(`${r.bounded} order(s) had too many possible charge sets to search: not matched (see docs/reconcile.md)`)}`);
  lines.push(c.dim(`  changes: ${r.changes.added} new, ${r.changes.removed} gone, ${r.changes.kept} unchanged`));
  return lines;
}

export function chargeLine(ch: RecView['charges'][number]): string {
  return `${ch.date}  ${printable(ch.merchant).slice(0, 32)}  ${displayMoney(ch.amount_minor, ch.currency)}${ch.pending ? ' (pending)' : ''}  [${ch.connection}]`;
}

export function candidateLine(k: RecView['candidates'][number], kind: RecView['kind']): string {
  const o = k.order;
  if (!o) return `order gone (run orderlink reconcile)`;
  const amount = kind === 'refund' ? `refunded ${displayMoney(o.refunded_minor, o.currency)}` : displayMoney(o.total_minor, o.currency);
  const how = k.charges.length > 1 ? ` as ${k.charges.length} charges (split)` : '';
  return `${o.ref}  ${printable(o.retailer).slice(0, 24)}  ${o.date}  ${amount}${how}  · score ${k.score}`;
}

/** A question, as text: what the charge(s) are, and the numbered candidates. */
export function questionLines(io: IO, v: RecView): string[] {
  const lines = [`${io.color.bold(`#${v.id}`)} ${v.kind === 'refund' ? 'refund' : 'charge'}${v.charges.length > 1 ? 's' : ''}:`];
  for (const ch of v.charges) lines.push(`    ${chargeLine(ch)}`);
  lines.push(`  ${v.candidates.length} candidate${v.candidates.length === 1 ? '' : 's'}:`);
  for (const k of v.candidates) lines.push(`    ${k.choice}. ${candidateLine(k, v.kind)}`);
  return lines;
}

const settled = (v: RecView): string => {
  const cur = v.charges[0]?.currency ?? v.order?.currency;
  return cur ? displayMoney(v.charges.reduce((n, c) => n + c.amount_minor, 0), cur) : '';
};

const COLUMNS: Column<RecView>[] = [
  { key: 'id', get: (v) => `#${v.id}` },
  { key: 'status', get: (v) => v.status },
  { key: 'kind', get: (v) => v.kind },
  { key: 'order', get: (v) => (v.order ? v.order.ref : `${v.candidates.length} candidates`) },
  { key: 'charges', get: (v) => `${v.charges.length} × ${v.charges.map((c) => c.date).join(', ')}` },
  { key: 'amount', get: settled, align: 'right' },
  { key: 'method', get: (v) => v.method },
  { key: 'score', get: (v) => v.score, align: 'right' },
];

/** `--list`: a table on a terminal, tab-separated text when piped (same columns, no colour). */
export function listRows(io: IO, rows: readonly RecView[]): void {
  if (io.stdoutIsTTY) io.out(renderTable(io, rows, COLUMNS));
  else for (const v of rows) io.out(COLUMNS.map((c) => tsvCell(c.get(v))).join('\t'));
}

/** The stderr notes of `orders stats --include-charges`. */
export function noteCharges(io: IO, w: WithCharges, json: boolean): void {
  if (json) return;
  if (w.reconciled) io.err(io.errColor.dim(`Matched charges to orders first (orders or charges changed): ${w.reconciled.matched} matched, ${w.reconciled.ambiguous} ambiguous.`));
  const n = w.summary.reduce((k, s) => k + s.charges, 0);
  const added = w.summary.map((s) => displayMoney(s.total, s.currency)).join(', ');
  io.err(io.errColor.dim(`Including ${n} card charge${n === 1 ? '' : 's'}${n ? ` (${added})` : ''} that no order accounts for.`));
  if (w.waiting) {
    const one = w.waiting === 1;
    io.err(io.errColor.yellow(`${w.waiting} charge${one ? '' : 's'} left out: ${one ? 'it waits' : 'they wait'} for you to say which order ${one ? 'it' : 'they'} paid for (orderlink reconcile --review).`));
  }
}

export function chargesJson(w: WithCharges): Record<string, unknown> {
  return {
    waiting: w.waiting,
    currencies: w.summary.map((s) => ({
      currency: s.currency,
      charges: s.charges,
      total: formatMinor(s.total, s.currency),
      total_minor: s.total,
      refunds: s.refunds,
      refunded: formatMinor(s.refunded, s.currency),
      refunded_minor: s.refunded,
    })),
  };
}
