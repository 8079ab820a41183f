/**
 * Sync progress on stderr. On a TTY: one live line per connection (pages, orders, rate),
 * redrawn at most ten times a second. Piped or in CI: one quiet line when a connection starts
 * and one when it ends. With --json: nothing (stdout carries the report).
 */
import type { IO } from './io.js';
import { fitCells } from './safe-text.js';

export interface ProgressLine {
  key: string;
  label: string;
  pages: number;
  items: number;
  done: boolean;
  status?: string;
  /** A rate-limit wait in progress: the next request of `operation` is held until `until` (epoch ms). */
  wait?: { operation: string; waitMs: number; until: number; requestsPerSecond: number } | undefined;
}

/** "rate limit: waiting 2m 58s, until 13:05:12 (searchOrders, 0.0056/s)" — the wait and when it ends, most important first (live lines are cut at the terminal's width). */
export function describeWait(w: NonNullable<ProgressLine['wait']>): string {
  const s = Math.ceil(w.waitMs / 1000);
  const span = s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  const at = new Date(w.until).toTimeString().slice(0, 8);
  return `rate limit: waiting ${span}, until ${at} (${w.operation}, ${w.requestsPerSecond}/s)`;
}

export interface Progress {
  update(line: ProgressLine): void;
  stop(): void;
}

export function createProgress(io: IO, mode: 'live' | 'lines' | 'off'): Progress {
  if (mode === 'off') return { update() {}, stop() {} };
  if (mode === 'lines') {
    const seen = new Set<string>();
    return {
      update(l) {
        if (!seen.has(l.key)) {
          seen.add(l.key);
          io.err(`sync ${l.label}: started`);
        }
        // Waits of a second or more get a line: a paced sync can be quiet for minutes otherwise.
        if (l.wait && l.wait.waitMs >= 1000) io.err(`sync ${l.label}: ${describeWait(l.wait)}`);
        if (l.done) io.err(`sync ${l.label}: ${l.status ?? 'done'} — ${l.items} orders in ${l.pages} page${l.pages === 1 ? '' : 's'}`);
      },
      stop() {},
    };
  }
  const lines = new Map<string, ProgressLine & { started: number }>();
  let drawn = 0;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const c = io.errColor;
  const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  const draw = () => {
    last = Date.now();
    frame++;
    let out = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const l of lines.values()) {
      const secs = Math.max(0.001, (Date.now() - l.started) / 1000);
      const rate = Math.round(l.items / secs);
      const icon = l.done ? (l.status === 'success' ? c.green('✓') : c.yellow('!')) : c.cyan(spinner[frame % spinner.length]!);
      // The label is sanitised and cut to its cells first; the line is never cut afterwards, which
      // could split one of our own colour sequences (and leave the terminal coloured).
      const text = `${icon} ${fitCells(l.label, 24)} ${String(l.pages).padStart(5)} pages ${String(l.items).padStart(8)} orders ${l.done ? c.dim(l.status ?? '') : l.wait && l.wait.until > Date.now() ? c.yellow(describeWait({ ...l.wait, waitMs: l.wait.until - Date.now() })) : c.dim(`${rate}/s`)}`;
      out += `\x1b[2K${text}\n`;
    }
    drawn = lines.size;
    io.stderr.write(out);
  };
  return {
    update(l) {
      const prev = lines.get(l.key);
      lines.set(l.key, { ...l, started: prev?.started ?? Date.now() });
      if (!timer) {
        timer = setInterval(draw, 100);
        timer.unref();
      }
      if (l.done || Date.now() - last > 100) draw();
    },
    stop() {
      if (timer) clearInterval(timer);
      if (lines.size) draw();
    },
  };
}
