/**
 * Horizontal bar charts for the terminal, one block per currency: bars are scaled within their
 * own currency (a yen bar and a dollar bar are never compared), drawn with eighth-block characters
 * for smooth lengths, with labels and amounts aligned in columns whatever the script of a label.
 */
import { compareMinor, displayMoney, type MinorSum } from '../connectors/money.js';
import type { CurrencySeries, StatGroup } from '../store/stats.js';
import type { IO } from './io.js';
import { displayWidth, fitCells, safeText } from './safe-text.js';

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const;

/** A bar of `value / max` of `width` cells; any non-zero value shows at least a sliver. */
export function bar(value: number, max: number, width: number): string {
  if (value <= 0 || max <= 0 || width <= 0) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

export { displayWidth } from './safe-text.js';

/**
 * Sanitise (safeText), then cut to `max` cells with an ellipsis at a grapheme boundary, then pad
 * to exactly `max` cells: a label can neither carry an escape sequence nor be cut inside one.
 */
export function fitLabel(s: string, max: number): string {
  return fitCells(s, max);
}

/** An amount for people; the currency code came from a provider, so it is sanitised too. */
const money = (v: MinorSum, currency: string): string => safeText(displayMoney(v, currency));

/** A sum as a number, for scaling bars only (amounts shown are always exact). */
const scale = (v: MinorSum): number => Number(v);

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
  // The title is ours (it may hold our colours); every label and key below is sanitised.
  const lines: string[] = [c.bold(opts.title)];
  if (series.length > 1) lines.push(c.dim(`${series.length} currencies, each on its own scale (amounts are never converted or added across currencies)`));
  // Shared column widths across currencies, so blocks line up under each other.
  const labels = series.flatMap((s) => s.groups.map((g) => fitLabel(label(g), LABEL_MAX).trimEnd()));
  const labelW = Math.min(LABEL_MAX, Math.max(5, ...labels.map(displayWidth)));
  const amounts = series.flatMap((s) => s.groups.map((g) => money(g.total, s.currency)));
  const amountW = Math.max(...amounts.map((a) => a.length), 1);
  const countW = Math.max(...series.flatMap((s) => s.groups.map((g) => g.orders.toLocaleString('en-US').length)), 1);
  const barW = Math.max(10, Math.min(60, io.columns - 2 - labelW - 2 - 2 - amountW - 2 - countW - 1));

  for (const s of series) {
    const refunds = s.refunded ? ` ${c.dim('·')} ${c.yellow(`${money(s.refunded, s.currency)} refunded`)}` : '';
    const count = opts.orderCount === false ? '' : ` ${c.dim('·')} ${s.orders.toLocaleString('en-US')} order${s.orders === 1 ? '' : 's'}`;
    lines.push('', `${c.bold(safeText(s.currency))}  ${money(s.total, s.currency)}${count}${refunds}`);
    const max = s.groups.reduce<MinorSum>((m, g) => (compareMinor(g.total, m) > 0 ? g.total : m), 0);
    for (const g of s.groups) {
      const name = fitLabel(label(g), labelW);
      const drawn = bar(scale(g.total), scale(max), barW);
      const barCell = g.gap ? c.dim('·'.padEnd(barW)) : c.cyan(drawn) + ' '.repeat(barW - displayWidth(drawn));
      const amount = (g.gap ? '—' : money(g.total, s.currency)).padStart(amountW);
      const count = g.orders.toLocaleString('en-US').padStart(countW);
      lines.push(`  ${g.folded ? c.dim(name) : name}  ${barCell}  ${amount}  ${c.dim(count)}`);
    }
  }
  return lines;
}
