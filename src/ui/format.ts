/** Small formatting helpers shared by commands: relative times, status colours, money. */
import type { Colors } from './io.js';

export function relativeTime(iso: string, now: Date): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now.getTime() - t) / 1000);
  const abs = Math.abs(s);
  const fmt = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  let text: string;
  if (abs < 45) text = 'just now';
  else if (abs < 3600) text = fmt(Math.round(abs / 60), 'minute');
  else if (abs < 86400) text = fmt(Math.round(abs / 3600), 'hour');
  else if (abs < 86400 * 45) text = fmt(Math.round(abs / 86400), 'day');
  else return iso.slice(0, 10);
  if (text === 'just now') return text;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export function statusColor(c: Colors, status: string): string {
  switch (status) {
    case 'active':
    case 'success':
    case 'ok':
    case 'delivered':
      return c.green(status);
    case 'reauth_required':
    case 'partial':
    case 'warn':
    case 'refunded':
    case 'partially_refunded':
      return c.yellow(status);
    case 'revoked':
    case 'error':
    case 'failure':
    case 'fail':
    case 'cancelled':
      return c.red(status);
    default:
      return status;
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}
