/**
 * `orderlink purge --older-than 2y | --connection C | --all [--dry-run] [--yes]`: delete orders
 * (with their items and search rows) and charges from this profile, counted first, confirmed,
 * audited, then VACUUMed so the file shrinks. `--set-retention 2y|off` keeps a per-profile
 * retention that every sync applies afterwards (src/sync/retention.ts). docs/export.md.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { usageError } from '../errors.js';
import { connectionHandle } from '../store/index.js';
import { RETENTION_KEY, dbBytes, parseSpan, purgeExecute, purgePlan, spanCutoff, totals, vacuum, type PurgeCount, type PurgeSelection } from '../store/purge.js';
import { pickFormat, printJson, renderRows, renderTable, type Column } from '../ui/render.js';
import { parseDateFlag } from './options.js';

export interface PurgeOptions {
  olderThan?: string;
  connection?: string[];
  all: boolean;
  dryRun: boolean;
  yes: boolean;
  setRetention?: string;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function register(cmd: Command, app: App): void {
  cmd
    .option('--older-than <age>', 'orders placed before this age or date: 90d, 2w, 18mo, 2y, or 2024-01-01')
    .option('--connection <id>', 'only this connection (number, connector:alias or alias; repeatable)', collect)
    .option('--all', 'every order and charge of this profile (connections stay linked)', false)
    .option('--dry-run', 'count what would be deleted, per connection, and delete nothing', false)
    .option('-y, --yes', 'do not ask for confirmation (required when not in a terminal)', false)
    .option('--set-retention <age>', 'keep only this much history, applied after every sync (90d, 18mo, 2y), or "off"')
    .addHelpText(
      'after',
      `
What goes: the orders selected (by order date), their line items and search entries, and the
charges of the same connections dated before the same day. Connections, sync history and the
audit trail stay; every purge is recorded in the audit trail with its counts (never order data).
The file is then VACUUMed, so the space is really freed. A later \`sync --full\` fetches
purged orders again if the provider still has them: set a retention to keep them away.

Examples:
  $ orderlink purge --older-than 2y --dry-run      # how many orders, per connection
  $ orderlink purge --older-than 2y                # asks first, then deletes and vacuums
  $ orderlink purge --older-than 2y --yes          # for scripts and cron
  $ orderlink purge --connection amazon:default --older-than 2024-01-01 --yes
  $ orderlink purge --all --yes --json
  $ orderlink purge --set-retention 2y             # from now on, after every sync
  $ orderlink purge --set-retention off

Exit codes: 0 done (or nothing to delete), 2 usage (no --yes without a terminal), 7 a sync is running.`,
    )
    .action((o: Omit<PurgeOptions, 'all' | 'dryRun' | 'yes'> & { all: boolean; dryRun: boolean; yes: boolean }) =>
      app.run(
        'purge',
        {
          ...(o.olderThan !== undefined ? { olderThan: o.olderThan } : {}),
          ...(o.connection ? { connection: o.connection } : {}),
          all: o.all,
          dryRun: o.dryRun,
          yes: o.yes,
          ...(o.setRetention !== undefined ? { setRetention: o.setRetention } : {}),
        } satisfies PurgeOptions,
        runPurge,
      ),
    );
}

const plural = (n: number, w: string): string => `${n.toLocaleString('en-US')} ${w}${n === 1 ? '' : 's'}`;

function megabytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}

/** --older-than: an age (2y) becomes a moment before now; a date stays a date. */
function cutoffOf(v: string, now: Date): string {
  if (/^\d{4}-\d{2}(-\d{2})?$|^\d{4}-\d{2}-\d{2}T/.test(v.trim())) return parseDateFlag(v.trim(), '--older-than', now);
  return spanCutoff(parseSpan(v, '--older-than'), now);
}

export async function runPurge(ctx: Context, o: PurgeOptions): Promise<number> {
  const store = ctx.store();
  if (o.setRetention !== undefined) {
    if (o.olderThan || o.connection || o.all || o.dryRun) throw usageError('BAD_OPTION', '--set-retention is a setting on its own: it takes no other purge option', 'Set it, then run `orderlink purge --older-than AGE` (or let the next sync apply it).');
    return setRetention(ctx, o.setRetention);
  }
  const current = store.getMeta(RETENTION_KEY);
  if (!o.olderThan && !o.connection && !o.all) {
    throw usageError('NOTHING_SELECTED', 'choose what to purge: --older-than AGE, --connection C, or --all', `Count first with --dry-run, e.g. orderlink purge --older-than 2y --dry-run.${current ? ` Retention is set to ${current} (applied after each sync).` : ''}`);
  }
  if (o.all && (o.olderThan || o.connection)) throw usageError('BAD_OPTION', '--all takes no --older-than or --connection', 'Use --all alone, or narrow with --older-than and/or --connection.');

  const sel: PurgeSelection = {};
  if (o.olderThan) sel.before = cutoffOf(o.olderThan, ctx.now());
  if (o.connection) sel.connectionIds = [...new Set(o.connection.map((c) => store.connections.resolve(c).id))];
  const handles = new Map(store.connections.list().map((c) => [c.id, connectionHandle(c)]));
  const handle = (id: number) => handles.get(id) ?? String(id);
  const scope = { before: sel.before ?? null, connections: sel.connectionIds?.map(handle) ?? 'all' };

  const io = ctx.io;
  const plan = purgePlan(store.db, sel);
  const t = totals(plan);
  if (o.dryRun || plan.length === 0) {
    if (ctx.json) printJson(io, { dry_run: o.dryRun, ...scope, ...t, per_connection: perConnection(plan, handle) });
    else {
      if (plan.length) renderRows(io, [...plan], planColumns(handle), pickFormat(io, {}));
      io.err(plan.length ? `Would delete ${summary(t)}${sel.before ? ` placed before ${sel.before.slice(0, 10)}` : ''}. Nothing was deleted (dry run).` : 'Nothing to delete: no order or charge matches.');
    }
    return 0;
  }

  if (!o.yes) {
    if (!(io.stdinIsTTY && io.stderrIsTTY)) throw usageError('CONFIRMATION_REQUIRED', `purging ${summary(t)} needs --yes when not in a terminal; nothing was deleted`, 'Check the counts with --dry-run, then run again with --yes.');
    io.err(renderTable(io, [...plan], planColumns(handle)));
    if (!(await ctx.prompter().confirm(`Delete ${summary(t)} from profile "${ctx.profile}"? This cannot be undone.`, false))) {
      io.err('Nothing was deleted.');
      return 0;
    }
  }

  // Not during a sync: it would write back what we delete, and VACUUM needs the file to itself.
  const { acquireLock } = await import('../locks.js');
  const lock = await acquireLock(ctx.paths.locks, 'sync', { waitMs: 0, signal: ctx.signal, what: 'an `orderlink sync`' });
  let sizes: { before: number; after: number };
  let done: PurgeCount[];
  try {
    const before = dbBytes(ctx.paths.db);
    done = purgeExecute(store.db, sel, (counts) => ctx.audit('purge', sel.connectionIds?.length === 1 ? sel.connectionIds[0]! : null, { reason: 'purge', older_than: o.olderThan ?? null, before: scope.before, selected: scope.connections, ...totals(counts), per_connection: auditCounts(counts) }));
    store.orders.refreshRollups('orders');
    store.orders.refreshRollups('categories');
    sizes = { before, after: vacuum(store.db, ctx.paths.db).after };
  } finally {
    lock.release();
  }
  const dt = totals(done);
  const freed = Math.max(0, sizes.before - sizes.after);
  if (ctx.json) {
    printJson(io, { dry_run: false, ...scope, ...dt, per_connection: perConnection(done, handle), bytes_before: sizes.before, bytes_after: sizes.after, freed_bytes: freed });
  } else {
    io.err(`${io.errColor.green('✓')} deleted ${summary(dt)}; the database went from ${megabytes(sizes.before)} to ${megabytes(sizes.after)} (${megabytes(freed)} freed). Recorded in \`orderlink audit --action purge\`.`);
  }
  return 0;
}

/** Counts for the audit row: ids and numbers, never order data. */
export function auditCounts(counts: readonly PurgeCount[]) {
  return counts.map((c) => ({ connection_id: c.connectionId, orders: c.orders, items: c.items, charges: c.charges }));
}

function summary(t: { orders: number; items: number; charges: number }): string {
  return `${plural(t.orders, 'order')} (${plural(t.items, 'item')})${t.charges ? ` and ${plural(t.charges, 'charge')}` : ''}`;
}

function perConnection(plan: readonly PurgeCount[], handle: (id: number) => string) {
  return plan.map((c) => ({ connection: handle(c.connectionId), id: c.connectionId, orders: c.orders, items: c.items, charges: c.charges }));
}

function planColumns(handle: (id: number) => string): Column<PurgeCount>[] {
  return [
    { key: 'connection', get: (c) => handle(c.connectionId) },
    { key: 'orders', get: (c) => c.orders, align: 'right' },
    { key: 'items', get: (c) => c.items, align: 'right' },
    { key: 'charges', get: (c) => c.charges, align: 'right' },
  ];
}

function setRetention(ctx: Context, value: string): number {
  const store = ctx.store();
  const previous = store.getMeta(RETENTION_KEY) ?? null;
  const off = /^(off|none|never)$/i.test(value.trim());
  const span = off ? null : parseSpan(value, '--set-retention');
  store.db.transaction(() => {
    if (span) store.setMeta(RETENTION_KEY, span);
    else store.db.prepare('DELETE FROM meta WHERE key = ?').run(RETENTION_KEY);
    ctx.audit('purge.retention', null, { previous, retention: span });
  })();
  if (ctx.json) {
    printJson(ctx.io, { retention: span, previous });
    return 0;
  }
  if (!span) ctx.io.err(`${ctx.io.errColor.green('✓')} retention is off for profile "${ctx.profile}": every order is kept.`);
  else {
    const waiting = purgePlan(store.db, { before: spanCutoff(span, ctx.now()) });
    const t = totals(waiting);
    ctx.io.err(`${ctx.io.errColor.green('✓')} profile "${ctx.profile}" keeps ${span} of history: after each sync, orders placed more than ${span} ago are deleted (audited).`);
    if (t.orders || t.charges) ctx.io.err(`  ${summary(t)} are older than that now: the next sync deletes them, or run \`orderlink purge --older-than ${span}\`.`);
  }
  return 0;
}
