/** `orderlink sync [CONNECTION...]`: fetch new and changed orders, page by page, crash-safe. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { ExitCode, OrderlinkError } from '../errors.js';
import { pickFormat, printJson, renderRows, type Column } from '../ui/render.js';
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
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink sync                         # every active connection, incrementally
  $ orderlink sync sandbox:work --full     # one connection, from scratch
  $ orderlink sync --dry-run --json        # what would change, as JSON
  $ orderlink sync --max-pages 1 --json    # a bounded CI smoke run
  $ orderlink sync --junit sync-report.xml # a report for your CI dashboard

Exit codes: 0 all good, 3 partial (some records invalid, named in the output),
            1 failure, 4 a connection needs re-linking, 7 another sync is running.`,
    )
    .action((conns: string[], o: { full: boolean; since?: string; concurrency: string; dryRun: boolean; pageSize: string; maxPages?: string; wait: string; junit?: string }) =>
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
        } satisfies SyncOptions,
        runSync,
      ),
    );
}

export async function runSync(ctx: Context, o: SyncOptions): Promise<number> {
  const { syncAll, selectConnections } = await import('../sync/index.js');
  const { createTokenManager } = await import('../tokens/oauth.js');
  const since = o.since ? parseDateFlag(o.since, '--since', ctx.now()) : null;
  const connections = selectConnections(ctx, o.connections);
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
  return exitCodeFor(results);
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
      io.err(`${io.errColor.yellow('!')} ${r.handle}: record ${e.orderId ?? `#${e.index + 1} on page ${e.page}`} skipped — ${e.field}: ${e.message}`);
    }
    if (r.recordErrors.length > 10) io.err(`  … and ${r.recordErrors.length - 10} more (see \`orderlink sync --json\` or sync_runs.error_detail)`);
    if (r.error) {
      io.err(`${io.errColor.red('✗')} ${r.handle}: ${r.error.message}`);
      if (r.error.hint) io.err(`  ${io.errColor.dim('hint:')} ${r.error.hint}`);
    }
  }
}
