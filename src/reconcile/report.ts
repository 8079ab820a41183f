/**
 * How reconciliation speaks: the run summary, the rows, the questions, and the lines `orders stats
 * --include-charges` adds. Bank and shop text is made safe for a terminal before it is shown.
 */
import { displayMoney, formatMinor } from '../connectors/money.js';
import type { IO } from '../ui/io.js';
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

export function rowLine(v: RecView): string {
  const what = v.order ? `${v.order.ref}` : `${v.candidates.length} candidates`;
  const money = v.charges.reduce((s, c) => s + c.amount_minor, 0);
  const cur = v.charges[0]?.currency ?? v.order?.currency ?? '';
  return [`#${v.id}`, v.status, v.kind, v.method, what, `${v.charges.length} charge${v.charges.length === 1 ? '' : 's'}`, cur ? formatMinor(money, cur) : '', cur, `score ${v.score}`].join('\t');
}

/** The stderr notes of `orders stats --include-charges`. */
export function noteCharges(io: IO, w: WithCharges, json: boolean): void {
  if (json) return;
  if (w.reconciled) io.err(io.errColor.dim(`Matched charges to orders first (orders or charges changed): ${w.reconciled.matched} matched, ${w.reconciled.ambiguous} ambiguous.`));
  const added = w.summary.map((s) => `${s.charges} charge${s.charges === 1 ? '' : 's'} (${displayMoney(s.total, s.currency)})`).join(', ');
  io.err(io.errColor.dim(`Including ${added || 'no'} card charges that no order accounts for.`));
  if (w.waiting) io.err(io.errColor.yellow(`${w.waiting} charge${w.waiting === 1 ? '' : 's'} left out: they wait for you to say which order they paid for (orderlink reconcile --review).`));
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
