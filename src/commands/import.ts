/**
 * `orderlink import CONNECTOR PATH`: bring a file export in (kind `file` connectors; today
 * `amazon`). The import is a connection like any other (`connections`, `orders --connection`,
 * `audit`, `disconnect --purge`) but holds no secret: it never opens the vault. Orders go through
 * the same pipeline as sync (policy → validate → map → checkOrder) and are committed in batches,
 * each one transaction, upserted by (connection, order id): re-importing adds nothing, a newer
 * export updates in place, an order missing from a shorter export is kept.
 */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { ExitCode, OrderlinkError } from '../errors.js';
import { printJson } from '../ui/render.js';
import { createProgress } from '../ui/progress.js';
import { formatDuration } from '../ui/format.js';

export interface ImportOptions {
  connector: string;
  path: string;
  alias: string;
  dryRun: boolean;
}

interface FileCount {
  file: string;
  kind: string;
  rows: number;
  orders: number;
  skipped: number;
}
interface Skipped {
  file: string;
  line: number | null;
  column: string;
  message: string;
  order_id?: string | null;
}

export function register(cmd: Command, app: App): void {
  cmd
    .argument('<connector>', 'which export: amazon')
    .argument('<path>', 'the zip as downloaded, the folder it was unpacked into, or one CSV from it')
    .option('--alias <name>', 'the connection to import into (created on first import)', 'default')
    .option('--dry-run', 'read and count what would change, write nothing', false)
    .addHelpText(
      'after',
      `
Examples:
  $ orderlink import amazon ~/Downloads/"Your Orders.zip"        # the zip, read without unpacking
  $ orderlink import amazon ~/Downloads/Your-Orders/             # the unpacked folder
  $ orderlink import amazon Retail.OrderHistory.1.csv --alias me # one CSV, into amazon:me
  $ orderlink import amazon export.zip --dry-run --json          # counts per file, nothing written
  $ orderlink orders --connection amazon:default                 # then query it like any connection

Get the export: Amazon → Account → "Request Your Data" → "Your Orders" (docs/amazon.md).
Importing again is safe: unchanged orders are left alone, changed ones updated, none deleted.
Payment cards, addresses, gift messages, tracking and serial numbers are never read.

Exit codes: 0 imported, 3 partial (some rows could not be read: named by file, line, column),
            2 not an Amazon export or bad arguments, 1 failure.`,
    )
    .action((connector: string, path: string, o: { alias: string; dryRun: boolean }) =>
      app.run('import', { connector, path, alias: o.alias, dryRun: o.dryRun } satisfies ImportOptions, runImport),
    );
}

export async function runImport(ctx: Context, o: ImportOptions): Promise<number> {
  const { getConnector } = await import('../connectors/registry.js');
  const { mapRecords } = await import('../sync/pipeline.js');
  const connector = getConnector(o.connector);
  if (connector.kind !== 'file' || !connector.importer) {
    throw new OrderlinkError('NOT_A_FILE_CONNECTOR', `${connector.id} is not imported from a file`, { kind: 'usage', hint: `Link it instead: orderlink link ${connector.id}` });
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,39}$/.test(o.alias)) {
    throw new OrderlinkError('BAD_ALIAS', `"${o.alias.slice(0, 40)}" is not a usable alias`, { kind: 'usage', hint: 'Use letters, digits, dot, dash or underscore (up to 40), e.g. --alias home.' });
  }
  const path = resolve(o.path);
  const io = ctx.io;
  const started = Date.now();
  const progress = createProgress(io, ctx.json ? 'off' : io.stderrIsTTY ? 'live' : 'off');
  let lastDraw = 0;
  const iterator = connector.importer.read(path, {
    signal: ctx.signal,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastDraw < 100 && p.bytes < p.totalBytes) return;
      lastDraw = now;
      const pct = p.totalBytes ? Math.min(100, Math.floor((p.bytes / p.totalBytes) * 100)) : 0;
      progress.update({ key: 'read', label: `reading ${pct}% ${basename(p.file)}`.slice(0, 40), pages: 0, items: 0, done: false });
    },
  })[Symbol.asyncIterator]();

  const store = ctx.store();
  const handle = `${connector.id}:${o.alias}`;
  // Read everything before touching the database: a refused file creates nothing.
  let next = await iterator.next().catch((err: unknown) => {
    progress.stop();
    throw err;
  });
  let conn = store.connections.findByAlias(connector.id, o.alias);
  if (!conn && !o.dryRun) {
    conn = store.connections.insert({
      connector: connector.id, retailer: connector.retailers[0] ?? connector.displayName, alias: o.alias, providerType: 'file',
      tokenRef: null, scopes: '', accountLabel: `file import (${basename(path).slice(0, 60)})`, baseUrl: null, config: { source: path },
    }, ctx.now());
    ctx.audit('connection.create', conn.id, { connector: connector.id, alias: o.alias, provider_type: 'file' });
  } else if (conn && !o.dryRun) {
    store.connections.update(conn.id, { status: 'active', lastError: null, config: { ...conn.config, source: path } });
  }
  if (conn && conn.providerType !== 'file') {
    throw new OrderlinkError('NOT_A_FILE_CONNECTION', `${handle} is not a file import connection`, { kind: 'usage', hint: 'Pick another --alias.' });
  }
  const nowIso = () => ctx.now().toISOString();
  const runRow = conn && !o.dryRun ? store.runs.start(ctx.runId, conn.id, 'import', nowIso()) : null;
  if (conn && !o.dryRun) ctx.audit('import.start', conn.id, { connector: connector.id, source: basename(path) });
  const writer = store.orderWriter();
  const totals = { orders: 0, added: 0, updated: 0, unchanged: 0, batches: 0 };
  const skipped: Skipped[] = [];
  let skippedCount = 0;
  let files: FileCount[] = [];
  try {
    while (!next.done) {
      const batch = next.value as import('../connectors/types.js').ImportBatch & { summary?: { files: FileCount[]; skippedRows: number } };
      const mapped = mapRecords(connector, batch.records, totals.batches);
      const invalid = mapped.errors.map((e) => ({ file: String((batch.records[e.index] as { _file?: unknown })?._file ?? batch.file), line: null, column: e.field, message: e.message, order_id: e.orderId }));
      skipped.push(...batch.rowErrors, ...invalid);
      skippedCount += invalid.length;
      const counts = o.dryRun || !conn
        ? conn ? writer.preview(conn.id, mapped.orders, []) : { added: mapped.orders.length, updated: 0, unchanged: 0, deleted: 0 }
        : writer.commitPage({ connectionId: conn.id, orders: mapped.orders, tombstones: [], cursor: null, runRowId: runRow, fetched: batch.records.length, errors: batch.rowErrors.length + invalid.length, now: nowIso() });
      totals.orders += mapped.orders.length;
      totals.added += counts.added;
      totals.updated += counts.updated;
      totals.unchanged += counts.unchanged;
      totals.batches++;
      if (batch.summary) {
        files = batch.summary.files;
        skippedCount += batch.summary.skippedRows;
      }
      progress.update({ key: 'read', label: `importing ${handle}`, pages: totals.batches, items: totals.orders, done: false });
      next = await iterator.next();
    }
  } catch (err) {
    progress.stop();
    if (runRow !== null) store.runs.finish(runRow, 'failure', nowIso(), err instanceof OrderlinkError ? err.code : 'IMPORT_FAILED');
    if (conn && !o.dryRun) ctx.audit('import.finish', conn.id, { status: 'failure', added: totals.added, updated: totals.updated });
    throw err;
  }
  progress.stop();
  const status = skippedCount > 0 ? 'partial' : 'success';
  if (runRow !== null && conn) {
    store.runs.finish(runRow, status, nowIso(), skippedCount ? 'ROWS_SKIPPED' : null, skippedCount ? { skipped: skipped.slice(0, 100) } : null);
    store.connections.update(conn.id, { lastSyncAt: nowIso() });
    ctx.audit('import.finish', conn.id, { status, orders: totals.orders, added: totals.added, updated: totals.updated, unchanged: totals.unchanged, skipped_rows: skippedCount });
    store.orders.refreshRollups('orders');
    store.orders.refreshRollups('categories');
    try {
      store.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      /* busy: SQLite's automatic checkpoints will do it later */
    }
  }
  report(ctx, { handle, status, dryRun: o.dryRun, totals, files, skipped, skippedCount, ms: Date.now() - started });
  return status === 'partial' ? ExitCode.PARTIAL : ExitCode.OK;
}

interface Report {
  handle: string;
  status: string;
  dryRun: boolean;
  totals: { orders: number; added: number; updated: number; unchanged: number };
  files: FileCount[];
  skipped: Skipped[];
  skippedCount: number;
  ms: number;
}

function report(ctx: Context, r: Report): void {
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, {
      ok: r.status === 'success', connection: r.handle, status: r.status, dry_run: r.dryRun, run_id: ctx.runId,
      orders: r.totals.orders, added: r.totals.added, updated: r.totals.updated, unchanged: r.totals.unchanged,
      skipped_rows: r.skippedCount, duration_ms: r.ms,
      files: r.files.map((f) => ({ file: f.file, kind: f.kind, rows: f.rows, orders: f.orders, skipped: f.skipped })),
      skipped: r.skipped,
    });
    return;
  }
  if (r.dryRun) io.err(io.errColor.yellow('Dry run: nothing was written.'));
  for (const f of r.files) {
    const what = f.kind === 'ignored' ? 'not an order file, ignored' : f.kind === 'empty' ? 'empty report (no data for that period)' : `${f.kind}: ${f.rows} rows → ${f.orders} orders${f.skipped ? `, ${f.skipped} skipped` : ''}`;
    io.err(`  ${f.file}  ${io.errColor.dim(what)}`);
  }
  const t = r.totals;
  io.out(`${r.handle}: ${t.orders} orders (${t.added} added, ${t.updated} updated, ${t.unchanged} unchanged) in ${formatDuration(r.ms)}`);
  for (const s of r.skipped.slice(0, 10)) {
    io.err(`${io.errColor.yellow('!')} ${s.file}${s.line ? `, line ${s.line}` : ''}${s.order_id ? `, order ${s.order_id}` : ''}, ${s.column}: ${s.message} — skipped`);
  }
  if (r.skippedCount > 10) io.err(`  … and ${r.skippedCount - 10} more (see \`orderlink import ... --json\`)`);
  if (r.skippedCount) io.err(`${io.errColor.yellow('!')} ${r.skippedCount} row${r.skippedCount === 1 ? '' : 's'} could not be read; everything else was imported. Fix or ignore them; importing again is safe.`);
  if (!r.dryRun && t.orders) io.err(io.errColor.dim(`Next: orderlink orders --connection ${r.handle}`));
}
