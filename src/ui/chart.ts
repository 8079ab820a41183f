/**
 * Horizontal bar charts for the terminal, one block per currency: bars are scaled within their
 * own currency (a yen bar and a dollar bar are never compared), drawn with eighth-block characters
 * for smooth lengths, with labels and amounts aligned in columns whatever the script of a label.
 */
import { displayMoney } from '../connectors/money.js';
import type { CurrencySeries, StatGroup } from '../store/stats.js';
import type { IO } from './io.js';

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const;

/** A bar of `value / max` of `width` cells; any non-zero value shows at least a sliver. */
export function bar(value: number, max: number, width: number): string {
  if (value <= 0 || max <= 0 || width <= 0) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/**
 * Terminal cells a string takes: East Asian wide characters and emoji count two, combining marks
 * and zero-width characters none. Close enough to wcwidth for labels (retailer and category names).
 */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (/\p{M}|\u200b|\u200c|\u200d|\ufe0f/u.test(ch)) continue;
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Cut to `max` cells with an ellipsis, then pad to exactly `max` cells. */
export function fitLabel(s: string, max: number): string {
  if (displayWidth(s) <= max) return s + ' '.repeat(max - displayWidth(s));
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return out + '…' + ' '.repeat(Math.max(0, max - 1 - displayWidth(out)));
}

export interface ChartOptions {
  /** Heading of the whole chart ("Spending by month"). */
  title: string;
  /** Label of a group (e.g. '' → "(no category)"). */
  label?: (g: StatGroup) => string;
  /**
   * Whether a currency's heading shows its order count. Not for categories: an order spanning
   * several counts in each, so the sum would overstate the orders.
   */
  orderCount?: boolean;
}

const LABEL_MAX = 24;

/** Lines of the chart (without trailing newline), ready for io.out. */
export function renderChart(io: IO, series: readonly CurrencySeries[], opts: ChartOptions): string[] {
  const c = io.color;
  const label = opts.label ?? ((g: StatGroup) => g.key);
  const lines: string[] = [c.bold(opts.title)];
  if (series.length > 1) lines.push(c.dim(`${series.length} currencies, each on its own scale (amounts are never converted or added across currencies)`));
  // Shared column widths across currencies, so blocks line up under each other.
  const labels = series.flatMap((s) => s.groups.map((g) => fitLabel(label(g), LABEL_MAX).trimEnd()));
  const labelW = Math.min(LABEL_MAX, Math.max(5, ...labels.map(displayWidth)));
  const amounts = series.flatMap((s) => s.groups.map((g) => displayMoney(g.total, s.currency)));
  const amountW = Math.max(...amounts.map((a) => a.length), 1);
  const countW = Math.max(...series.flatMap((s) => s.groups.map((g) => g.orders.toLocaleString('en-US').length)), 1);
  const barW = Math.max(10, Math.min(60, io.columns - 2 - labelW - 2 - 2 - amountW - 2 - countW - 1));

  for (const s of series) {
    const refunds = s.refunded ? ` ${c.dim('·')} ${c.yellow(`${displayMoney(s.refunded, s.currency)} refunded`)}` : '';
    const count = opts.orderCount === false ? '' : ` ${c.dim('·')} ${s.orders.toLocaleString('en-US')} order${s.orders === 1 ? '' : 's'}`;
    lines.push('', `${c.bold(s.currency)}  ${displayMoney(s.total, s.currency)}${count}${refunds}`);
    const max = Math.max(0, ...s.groups.map((g) => g.total));
    for (const g of s.groups) {
      const name = fitLabel(label(g), labelW);
      const drawn = bar(g.total, max, barW);
      const barCell = g.gap ? c.dim('·'.padEnd(barW)) : c.cyan(drawn) + ' '.repeat(barW - displayWidth(drawn));
      const amount = (g.gap ? '—' : displayMoney(g.total, s.currency)).padStart(amountW);
      const count = g.orders.toLocaleString('en-US').padStart(countW);
      lines.push(`  ${g.folded ? c.dim(name) : name}  ${barCell}  ${amount}  ${c.dim(count)}`);
    }
  }
  return lines;
}
