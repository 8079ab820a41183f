/** `orderlink sync [CONNECTION...]`: fetch new and changed orders, page by page, crash-safe. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { ExitCode, OrderlinkError, usageError } from '../errors.js';
import { pickFormat, printJson, renderRows, type Column } from '../ui/render.js';
import { safeText } from '../ui/safe-text.js';
import { createProgress } from '../ui/progress.js';
import { formatDuration, statusColor } from '../ui/format.js';
import { parseDateFlag, parsePositiveInt } from './options.js';
import type { ConnectionResult } from '../sync/index.js';

export interface SyncOptions {
  connections: string[];
  full: boolean;
  since?: string;
  concurrency: number;
  dryRun: boolean;
  pageSize: number;
  maxPages?: number;
  wait: number;
  /** Write a JUnit XML report here as well (CI). */
  junit?: string;
  /** Only the connections whose interval has passed (cron, systemd timers). */
  due?: boolean;
  /** Apply deletions however many there are (the guard holds more than --max-delete). */
  acceptDeletions?: boolean;
  /** Percent of a connection's records one run may delete (default 10). */
  maxDelete?: number;
  /** Save the raw pages (allow-listed) here, for `connector test --replay` (one connection). */
  record?: string;
}

export function register(cmd: Command, app: App): void {
  cmd
    .argument('[connection...]', 'connections to sync (number, connector:alias or alias); default: every active one')
    .option('--full', 'ignore the stored cursor and fetch everything again', false)
    .option('--since <date>', 'fetch orders updated since this date (2026-01-31, ISO date-time, or 30d)')
    .option('--concurrency <n>', 'connections synced at once', '4')
    .option('--dry-run', 'fetch and count what would change, write nothing', false)
    .option('--page-size <n>', 'orders per request', '200')
    .option('--max-pages <n>', 'stop after N pages per connection (CI smoke tests)')
    .option('--wait <seconds>', 'if another sync is running here, wait this long instead of exiting (exit 7)', '0')
    .option('--junit <file>', 'also write a JUnit XML report to FILE (one testcase per connection)')
    .option('--accept-deletions', 'apply deletions even when a run deletes more than --max-delete of a connection', false)
    .option('--max-delete <percent>', 'hold a run\'s deletions when they exceed this share of a connection\'s records', '10')
    .option('--due', 'only connections whose interval has passed (`connections set C --every 6h`; default 24h): for cron and timers', false)
    .option('--record <dir>', 'save the raw pages fetched (after the allow-list; never a token) for `orderlink connector test NAME --replay DIR`; one connection')
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink sync                         # every active connection, incrementally
  $ orderlink sync sandbox:work --full     # one connection, from scratch
  $ orderlink sync --dry-run --json        # what would change, as JSON
  $ orderlink sync --max-pages 1 --json    # a bounded CI smoke run
  $ orderlink sync --junit sync-report.xml # a report for your CI dashboard
  $ orderlink sync --due                   # from cron or a systemd timer (docs/scheduling.md)
  $ orderlink sync mine --dry-run --record pages/   # then: orderlink connector test mine --replay pages/

Exit codes: 0 all good, 3 partial (some records invalid, named in the output),
            1 failure, 4 a connection needs re-linking (with --due: or will within 7 days), 5 vault locked or wrong key,
            6 vault or database damaged, tampered or rolled back, 7 busy.`,
    )
    .action((conns: string[], o: { full: boolean; since?: string; concurrency: string; dryRun: boolean; pageSize: string; maxPages?: string; wait: string; junit?: string; due: boolean; acceptDeletions: boolean; maxDelete: string; record?: string }) =>
      app.run(
        'sync',
        {
          connections: conns,
          full: o.full,
          ...(o.since ? { since: o.since } : {}),
          concurrency: parsePositiveInt(o.concurrency, '--concurrency', 32),
          dryRun: o.dryRun,
          pageSize: parsePositiveInt(o.pageSize, '--page-size', 1000),
          ...(o.maxPages ? { maxPages: parsePositiveInt(o.maxPages, '--max-pages') } : {}),
          wait: o.wait === '0' ? 0 : parsePositiveInt(o.wait, '--wait', 86_400),
          ...(o.junit ? { junit: o.junit } : {}),
          ...(o.due ? { due: true } : {}),
          ...(o.acceptDeletions ? { acceptDeletions: true } : {}),
          ...(o.maxDelete === '10' ? {} : { maxDelete: parsePercent(o.maxDelete) }),
          ...(o.record ? { record: o.record } : {}),
        } satisfies SyncOptions,
        runSync,
      ),
    );
}

export async function runSync(ctx: Context, o: SyncOptions): Promise<number> {
  const { syncAll, selectConnections } = await import('../sync/index.js');
  const { createTokenManager } = await import('../tokens/oauth.js');
  const since = o.since ? parseDateFlag(o.since, '--since', ctx.now()) : null;
  let connections = selectConnections(ctx, o.connections);
  const { isDue, nextDue, forecastReauth } = await import('../sync/schedule.js');
  const { getConnector } = await import('../connectors/registry.js');
  if (o.due) {
    const now = ctx.now();
    const due = connections.filter((c) => isDue(c, now));
    if (due.length === 0) {
      const next = connections.map((c) => nextDue(c)).filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0];
      const forecastCode = warnForecasts(ctx, connections, forecastReauth, getConnector);
      if (ctx.json) printJson(ctx.io, { ok: true, due: [], next_due_at: next?.toISOString() ?? null, connections: [] });
      else ctx.io.err(`Nothing is due${next ? ` (next: ${next.toISOString()})` : ''}.`);
      return forecastCode;
    }
    connections = due;
  }
  // Open and unlock the vault once, before any connection starts: a locked, wrong-key, tampered,
  // rolled-back or missing vault is one error with its own exit code (5 or 6), not one failure
  // (and one scrypt run) per connection.
  if (connections.some((c) => c.tokenRef)) await ctx.vault();
  if (o.record) {
    if (connections.length !== 1) throw usageError('BAD_OPTION', `--record saves one connection's pages; ${connections.length} were selected`, 'Name the connection: orderlink sync NAME --dry-run --record DIR');
    (await import('../sync/record.js')).prepareRecordDir(o.record);
  }
  const io = ctx.io;
  const progress = createProgress(io, ctx.json ? 'off' : io.stderrIsTTY ? 'live' : 'lines');
  let results: ConnectionResult[];
  try {
    results = await syncAll(ctx, {
      connections,
      full: o.full,
      since,
      dryRun: o.dryRun,
      concurrency: o.concurrency,
      pageSize: o.pageSize,
      ...(o.maxPages === undefined ? {} : { maxPages: o.maxPages }),
      waitSeconds: o.wait,
      ...(o.acceptDeletions ? { maxDeletePercent: null } : o.maxDelete === undefined ? {} : { maxDeletePercent: o.maxDelete }),
      ...(o.record ? { record: o.record } : {}),
      tokens: createTokenManager(ctx),
      onProgress: (e) =>
        progress.update({ key: String(e.connectionId), label: e.handle, pages: e.pages, items: e.fetched, done: e.phase === 'done', wait: e.wait, ...(e.result ? { status: e.result.status } : {}) }),
    });
  } finally {
    progress.stop();
  }
  report(ctx, results, o.dryRun);
  if (o.junit) {
    const { junitReport, writeJunit } = await import('../ui/junit.js');
    try {
      writeJunit(o.junit, junitReport(results, { runId: ctx.runId, at: ctx.now(), dryRun: o.dryRun }));
    } catch (err) {
      const why = err instanceof Error && 'code' in err ? String((err as NodeJS.ErrnoException).code) : 'write failed';
      throw new OrderlinkError('JUNIT_WRITE_FAILED', `could not write the JUnit report to ${o.junit} (${why}); the sync itself finished and is saved`, {
        hint: 'Check that the folder exists and is writable.',
      });
    }
  }
  const code = exitCodeFor(results);
  if (o.due && code === ExitCode.OK) return warnForecasts(ctx, ctx.store().connections.list().filter((c) => c.status === 'active'), forecastReauth, getConnector);
  return code;
}

/** Under --due, a credential about to break is the reauth exit (4) now, while it can still be renewed. */
function warnForecasts(
  ctx: Context,
  connections: readonly import('../store/index.js').Connection[],
  forecast: typeof import('../sync/schedule.js').forecastReauth,
  connectorOf: (id: string) => import('../connectors/types.js').Connector,
): number {
  let soon = false;
  for (const c of connections) {
    let f;
    try {
      f = forecast(c, connectorOf(c.connector), ctx.now());
    } catch {
      continue; // a connector this build does not know: nothing to forecast
    }
    if (!f?.soon) continue;
    soon = true;
    const handle = safeText(`${c.connector}:${c.alias}`);
    ctx.io.err(`${ctx.io.errColor.yellow('!')} ${handle}: ${f.daysLeft < 0 ? 'its credential has probably expired' : `its credential is expected to stop working in ${f.daysLeft} day(s)`} (${f.why}). Re-link it: orderlink link --reconnect ${handle}`);
  }
  return soon ? ExitCode.REAUTH_REQUIRED : ExitCode.OK;
}

function parsePercent(v: string): number {
  const n = Number(v);
  if (!/^\d{1,3}(\.\d+)?$/.test(v.trim()) || n < 0 || n > 100) throw usageError('BAD_OPTION', `--max-delete takes a percentage from 0 to 100, got "${v.slice(0, 20)}"`);
  return n;
}

export function exitCodeFor(results: ConnectionResult[]): number {
  if (results.some((r) => r.status === 'reauth_required')) return ExitCode.REAUTH_REQUIRED;
  if (results.some((r) => r.status === 'failure')) return ExitCode.FAILURE;
  if (results.some((r) => r.status === 'partial')) return ExitCode.PARTIAL;
  return ExitCode.OK;
}

function report(ctx: Context, results: ConnectionResult[], dryRun: boolean): void {
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, {
      ok: results.every((r) => r.status === 'success'),
      dry_run: dryRun,
      run_id: ctx.runId,
      connections: results.map((r) => ({
        id: r.connectionId, connection: r.handle, status: r.status, mode: r.mode, pages: r.pages, fetched: r.fetched,
        added: r.added, updated: r.updated, unchanged: r.unchanged, deleted: r.deleted, errors: r.errors,
        requests: r.requests, rate_limit_wait_ms: r.rateLimitWaitMs, throttled: r.throttled, duration_ms: r.durationMs, invalid_records: r.recordErrors, error: r.error,
        warnings: r.warnings, held_deletions: r.held ? { would_delete: r.held.deletions, held_records: r.held.records, share_percent: r.held.sharePercent } : null,
      })),
    });
    return;
  }
  const format = pickFormat(io, {});
  const cols: Column<ConnectionResult>[] = [
    { key: 'connection', get: (r) => r.handle },
    { key: 'status', get: (r) => r.status, style: (v) => statusColor(io.color, v) },
    { key: 'added', get: (r) => r.added, align: 'right' },
    { key: 'updated', get: (r) => r.updated, align: 'right' },
    { key: 'unchanged', get: (r) => r.unchanged, align: 'right' },
    { key: 'deleted', get: (r) => r.deleted, align: 'right' },
    { key: 'errors', get: (r) => r.errors, align: 'right' },
    { key: 'duration', get: (r) => formatDuration(r.durationMs), align: 'right' },
  ];
  if (dryRun) io.err(io.errColor.yellow('Dry run: nothing was written.'));
  renderRows(io, results, cols, format);
  for (const r of results) {
    for (const e of r.recordErrors.slice(0, 10)) {
      io.err(`${io.errColor.yellow('!')} ${safeText(r.handle)}: record ${e.orderId === null ? `#${e.index + 1} on page ${e.page}` : safeText(e.orderId)} skipped — ${safeText(e.field)}: ${safeText(e.message)}`);
    }
    if (r.recordErrors.length > 10) io.err(`  … and ${r.recordErrors.length - 10} more (see \`orderlink sync --json\` or sync_runs.error_detail)`);
    for (const w of r.warnings) io.err(`${io.errColor.yellow('!')} ${safeText(r.handle)}: ${safeText(w.message)}`);
    if (r.error) {
      io.err(`${r.held ? io.errColor.yellow('!') : io.errColor.red('✗')} ${safeText(r.handle)}: ${safeText(r.error.message)}`);
      if (r.error.hint) io.err(`  ${io.errColor.dim('hint:')} ${safeText(r.error.hint)}`);
    }
  }
}
