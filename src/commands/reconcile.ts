/**
 * `orderlink reconcile`: match card charges (Plaid) to the orders they paid for or refunded, so a
 * purchase seen from both sides counts once (`orders stats --include-charges`). An ambiguous match
 * is never guessed: it is listed, reviewed on a terminal (`--review`) or decided by a script
 * (`--confirm ID --order ORDER`, `--reject ID`). Local database only: no network, no vault.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { DEFAULT_OPTIONS, type DayWindow, type MatchOptions } from '../reconcile/match.js';
import { printJson } from '../ui/render.js';
import { calendarFlag } from './charges.js';
import { parsePositiveInt } from './options.js';

const STATUSES = ['matched', 'confirmed', 'rejected', 'ambiguous'] as const;

export interface ReconcileOptions {
  since?: string;
  dryRun?: boolean;
  window?: DayWindow;
  refundWindow?: DayWindow;
  maxSplit?: number;
  list?: boolean;
  status?: Array<(typeof STATUSES)[number]>;
  review?: boolean;
  confirm?: number;
  order?: string;
  choice?: number;
  reject?: number;
}

/** "10" (0 to 10 days after the order) or "-1..10" (from the day before). */
export function parseWindow(v: string, flag: string): DayWindow {
  const m = /^\s*(?:(-?\d{1,3})\s*\.\.\s*)?(\d{1,3})\s*$/.exec(v);
  const w = m ? { from: m[1] === undefined ? 0 : Number(m[1]), to: Number(m[2]) } : undefined;
  if (!w || w.from > w.to || w.from < -30 || w.to > 365) {
    throw usageError('BAD_OPTION', `${flag} expects days after the order date: 10 (0 to 10) or -1..10 (the day before to 10 after), at most 365; got "${v.slice(0, 20)}"`);
  }
  return w;
}

function parseStatuses(v: string): ReconcileOptions['status'] {
  const list = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!list.length || list.some((s) => !(STATUSES as readonly string[]).includes(s))) throw usageError('BAD_OPTION', `--status takes ${STATUSES.join(', ')} (comma-separated), got "${v.slice(0, 40)}"`);
  return list as ReconcileOptions['status'];
}

export function register(cmd: Command, app: App): void {
  cmd
    .option('--since <date>', 'only orders from this day on: 2026-01-31, 2026-01, or 90d / 2w / 3mo / 1y back')
    .option('--dry-run', 'match and count, save nothing')
    .option('--window <days>', `days after the order date a charge may post: N or FROM..TO (default ${DEFAULT_OPTIONS.window.from}..${DEFAULT_OPTIONS.window.to})`, (v) => parseWindow(v, '--window'))
    .option('--refund-window <days>', `the same for refunds (default ${DEFAULT_OPTIONS.refundWindow.from}..${DEFAULT_OPTIONS.refundWindow.to})`, (v) => parseWindow(v, '--refund-window'))
    .option('--max-split <n>', `the most charges one order may settle as (default ${DEFAULT_OPTIONS.maxSplit})`, (v) => parsePositiveInt(v, '--max-split', 8))
    .option('--list', 'list the reconciliations (without running the matcher)')
    .option('--status <list>', `with --list: only these, comma-separated: ${STATUSES.join(', ')}`, parseStatuses)
    .option('--review', 'walk the ambiguous matches on a terminal: choose the order, or none')
    .option('--confirm <id>', 'confirm a match, or answer a question with --order / --choice', (v) => parsePositiveInt(v, '--confirm'))
    .option('--order <order>', 'with --confirm: the order (its id, CONNECTION:ORDER_ID or row id)')
    .option('--choice <n>', 'with --confirm: the Nth candidate', (v) => parsePositiveInt(v, '--choice', 1000))
    .option('--reject <id>', 'not this match (or, for a question, none of its candidates); never proposed again', (v) => parsePositiveInt(v, '--reject'))
    .addHelpText(
      'after',
      `
Matches card charges (Plaid) to orders (Amazon's export, Knot...) by merchant, exact amount in the
same currency and date (a charge posts 0-10 days after the order). One order may settle as several
charges (split shipments); a refund is a negative charge matched to an order's refunded amount.
A charge that could belong to two orders (or an order to two sets of charges) is never guessed:
it is listed as ambiguous for you to decide. Decisions are kept and audited; a rejected match is
never proposed again. Then \`orders stats --include-charges\` counts each purchase once.

Exit codes: 0 ok (open questions are counted, not an error), 1 no such reconciliation or a
conflicting decision, 2 usage.

Examples:
  $ orderlink reconcile                                # match, save, show the counts
  $ orderlink reconcile --dry-run --json               # what would match, nothing saved
  $ orderlink reconcile --since 90d --window -1..14
  $ orderlink reconcile --review                       # decide the ambiguous ones
  $ orderlink reconcile --list --status ambiguous --json
  $ orderlink reconcile --confirm 12 --order amazon:default:111-2223334-5556667
  $ orderlink reconcile --reject 15
  $ orderlink orders stats --include-charges`,
    )
    .action((o: ReconcileOptions) => app.run('reconcile', o, runReconcileCommand));
}

function checkModes(o: ReconcileOptions): void {
  const modes = (['list', 'review', 'confirm', 'reject'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
  if (modes.length > 1) throw usageError('BAD_OPTION', `--${modes[0]} and --${modes[1]} exclude each other`);
  if ((o.order !== undefined || o.choice !== undefined) && o.confirm === undefined) throw usageError('BAD_OPTION', '--order and --choice go with --confirm ID');
  if (o.order !== undefined && o.choice !== undefined) throw usageError('BAD_OPTION', '--order and --choice exclude each other');
  if (o.status && !o.list) throw usageError('BAD_OPTION', '--status goes with --list');
  if (o.dryRun && modes.length) throw usageError('BAD_OPTION', `--dry-run goes with a plain run, not --${modes[0]}`);
}

export async function runReconcileCommand(ctx: Context, o: ReconcileOptions): Promise<number> {
  checkModes(o);
  const { runReconcile, confirm, reject, views } = await import('../reconcile/index.js');
  const report = await import('../reconcile/report.js');
  const io = ctx.io;
  const store = ctx.store();
  const audit = (action: string, detail: Record<string, unknown>) => ctx.audit(action, null, detail);
  // Settings given now are saved with the run and used by later runs (docs/reconcile.md).
  const given = o.window || o.refundWindow || o.maxSplit;
  const match: MatchOptions | undefined = given ? { ...(await import('../reconcile/index.js')).savedOptions(store), ...(o.window ? { window: o.window } : {}), ...(o.refundWindow ? { refundWindow: o.refundWindow } : {}), ...(o.maxSplit ? { maxSplit: o.maxSplit } : {}) } : undefined;
  if (given && (o.list || o.confirm !== undefined || o.reject !== undefined)) throw usageError('BAD_OPTION', '--window, --refund-window and --max-split go with a run or --review');

  if (o.list) {
    const rows = views(store, o.status);
    if (ctx.json) printJson(io, rows);
    else if (!rows.length) io.err('No reconciliations yet. Run `orderlink reconcile`.');
    else report.listRows(io, rows);
    return 0;
  }
  if (o.confirm !== undefined || o.reject !== undefined) {
    const done = o.confirm !== undefined ? confirm(store, o.confirm, { ...(o.order !== undefined ? { order: o.order } : {}), ...(o.choice !== undefined ? { choice: o.choice } : {}) }, ctx.now(), audit) : reject(store, o.reject!, ctx.now(), audit);
    const verb = o.confirm !== undefined ? 'confirmed' : 'rejected';
    if (ctx.json) printJson(io, { id: done.id, status: verb, already: done.already, run: done.run });
    else {
      io.out(done.already ? `#${done.id} was already ${verb}.` : `#${done.id} ${verb}.`);
      for (const l of report.runLines(io, done.run)) io.err(l);
    }
    return 0;
  }
  if (o.review) return review(ctx, match);

  const since = o.since ? calendarFlag(o.since, '--since', ctx.now()) : undefined;
  const r = runReconcile(store, { ...(since ? { since } : {}), dryRun: o.dryRun ?? false, ...(match ? { match } : {}), now: ctx.now() }, audit);
  const questions = o.dryRun ? [] : views(store, ['ambiguous']);
  if (ctx.json) {
    printJson(io, { ...r, questions });
    return 0;
  }
  for (const l of report.runLines(io, r)) io.out(l);
  if (r.matched + r.confirmed + r.ambiguous + r.unmatched_charges === 0) io.err('No card charges to match yet: link a card with `orderlink link plaid` and run `orderlink sync`.');
  else if (r.matched + r.confirmed + r.ambiguous + r.unmatched_orders === 0) io.err('No orders to match yet: `orderlink import amazon FILE`, or link a shop (`orderlink link knot --merchant walmart`), then sync.');
  if (questions.length) {
    io.out('');
    io.out('Ambiguous — never guessed; decide with --review, or --confirm ID --order ORDER / --reject ID:');
    for (const q of questions.slice(0, 20)) for (const l of report.questionLines(io, q)) io.out(`  ${l}`);
    if (questions.length > 20) io.out(`  … and ${questions.length - 20} more (orderlink reconcile --list --status ambiguous)`);
  }
  return 0;
}

/** On a terminal: one question at a time; every answer is saved (and audited) at once. */
async function review(ctx: Context, match: MatchOptions | undefined): Promise<number> {
  const io = ctx.io;
  if (ctx.json || !io.stdinIsTTY || !io.stdoutIsTTY) {
    throw usageError('NOT_A_TERMINAL', '--review asks questions on a terminal', 'In scripts: `orderlink reconcile --list --status ambiguous --json`, then `--confirm ID --order ORDER` or `--reject ID`.');
  }
  const { runReconcile, confirm, reject, views } = await import('../reconcile/index.js');
  const report = await import('../reconcile/report.js');
  const store = ctx.store();
  const audit = (action: string, detail: Record<string, unknown>) => ctx.audit(action, null, detail);
  runReconcile(store, { ...(match ? { match } : {}), now: ctx.now() }, audit);
  const skipped = new Set<number>();
  let decided = 0;
  for (;;) {
    const q = views(store, ['ambiguous']).find((v) => !skipped.has(v.id));
    if (!q) break;
    io.out('');
    for (const l of report.questionLines(io, q)) io.out(l);
    const choices = [
      ...q.candidates.map((k) => ({ value: String(k.choice), name: `${k.choice}. ${report.candidateLine(k, q.kind)}` })),
      { value: 'none', name: 'none of these' },
      { value: 'skip', name: 'decide later' },
      { value: 'quit', name: 'stop reviewing' },
    ];
    const answer = await ctx.prompter().search(q.kind === 'refund' ? 'Which order did this refund belong to?' : 'Which order did this pay for?', choices);
    if (answer === 'quit') break;
    if (answer === 'skip') {
      skipped.add(q.id);
      continue;
    }
    const done = answer === 'none' ? reject(store, q.id, ctx.now(), audit) : confirm(store, q.id, { choice: Number(answer) }, ctx.now(), audit);
    decided++;
    io.out(answer === 'none' ? `#${q.id}: none of these (kept apart).` : `#${done.id}: confirmed.`);
  }
  const left = views(store, ['ambiguous']).length;
  io.out('');
  io.out(`${decided} decided${left ? `, ${left} still open (orderlink reconcile --review)` : ', nothing left to review'}.`);
  return 0;
}
