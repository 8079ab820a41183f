/**
 * Syncing several connections: one sync per data directory at a time (a crash-proof lock; the
 * second run waits or exits with a clear message, rule 25), connections concurrently up to a
 * bound, and one report.
 */
import type { Context } from '../context.js';
import { resolveConnector } from '../connectors/resolve.js';
import { OrderlinkError } from '../errors.js';
import { acquireLock } from '../locks.js';
import { connectionHandle, type Connection } from '../store/index.js';
import type { TokenManager } from '../tokens/index.js';
import { retryPolicyFromEnv } from './http.js';
import { sessionSourceFor } from './session.js';
import { syncConnection, type ConnectionResult, type ProgressEvent } from './engine.js';

export type { ConnectionResult, ProgressEvent, RecordError } from './engine.js';

export interface SyncAllOptions {
  connections: Connection[];
  full: boolean;
  since: string | null;
  dryRun: boolean;
  concurrency: number;
  pageSize: number;
  maxPages?: number;
  /** Percent of a connection's records one run may delete before they are held; null = accept all. */
  maxDeletePercent?: number | null;
  /** Seconds to wait for another sync on the same home; 0 = exit at once. */
  waitSeconds: number;
  tokens: TokenManager;
  onProgress: (e: ProgressEvent) => void;
  /** Each page's raw records, per connection, before the pipeline (smoke's drift check). */
  onRawPage?: (connectionId: number, records: readonly unknown[]) => void;
  /** Save each fetched page (allow-listed) in this folder (`sync --record`). */
  record?: string;
}

export async function syncAll(ctx: Context, o: SyncAllOptions): Promise<ConnectionResult[]> {
  const lock = await acquireLock(ctx.paths.locks, 'sync', {
    waitMs: o.waitSeconds * 1000,
    signal: ctx.signal,
    what: 'another `orderlink sync`',
    onWait: () => ctx.io.err('Another sync is running on this data directory; waiting for it to finish…'),
  });
  let bulk = false;
  let opened: ReturnType<Context['store']> | undefined;
  try {
    const store = (opened = ctx.store());
    // An earlier sync killed mid-bulk-load left its index SQL in meta: rebuild before anything else.
    if (store.bulkLoadPending()) rebuildingNotice(ctx, store.finishBulkLoad());
    // A first sync into an empty store defers the secondary indexes (store/bulk-load.ts).
    bulk = !o.dryRun && store.beginBulkLoad();
    if (bulk) ctx.trace('bulk load: secondary indexes deferred to the end of this sync');
    const policy = retryPolicyFromEnv(ctx.env);
    const results: ConnectionResult[] = new Array(o.connections.length);
    let next = 0;
    const worker = async () => {
      while (next < o.connections.length) {
        const i = next++;
        // Re-read: another process may have changed it (reauth, cursor) before we took the lock.
        const conn = store.connections.get(o.connections[i]!.id)!;
        const resolved = resolveConnector(ctx, conn.connector);
        const connector = o.record ? (await import('./record.js')).recordingConnector(resolved, o.record) : resolved;
        results[i] = await syncConnection({
          store,
          connection: conn,
          handle: connectionHandle(conn),
          connector,
          session: sessionSourceFor(ctx, conn, connector, o.tokens),
          fetch: ctx.fetch,
          policy,
          signal: ctx.signal,
          runId: ctx.runId,
          full: o.full,
          since: o.since,
          dryRun: o.dryRun,
          pageSize: o.pageSize,
          ...(o.maxDeletePercent === undefined ? {} : { maxDeletePercent: o.maxDeletePercent }),
          ...(/^\d+$/.test(ctx.env.ORDERLINK_MAX_PAGE_RECORDS ?? '') ? { maxRecordsPerPage: Number(ctx.env.ORDERLINK_MAX_PAGE_RECORDS) } : {}),
          ...(o.maxPages === undefined ? {} : { maxPages: o.maxPages }),
          now: () => ctx.now(),
          trace: (l) => ctx.trace(l),
          audit: (a, id, d) => ctx.audit(a, id, d),
          onProgress: o.onProgress,
          ...(o.onRawPage ? { onRawPage: (records: readonly unknown[]) => o.onRawPage!(conn.id, records) } : {}),
          ratePlan: ctx.env.ORDERLINK_RATE_PLAN,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, o.connections.length)) }, worker));
    if (bulk) {
      bulk = false;
      store.finishBulkLoad();
    }
    if (!o.dryRun) {
      // Retention (`orderlink purge --set-retention 2y`, off by default), under this sync's lock.
      await (await import('./retention.js')).retentionAfterSync(ctx);
      // Bring the totals up to date here, where the user already waits, so `orders` and every
      // `orders stats` right after a sync answer at once. The category totals are one pass over
      // the months this sync touched (store/category-months.ts: ~1 µs an order on a first sync,
      // a few milliseconds after an incremental one); a month they cannot hold stays for its reader.
      store.orders.refreshRollups('orders');
      store.orders.refreshRollups('categories');
      try {
        // Fold the WAL back into the database and shrink it (see wal_autocheckpoint in db.ts).
        // A reader holding an old snapshot only makes this partial, which is harmless.
        store.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        /* busy: SQLite's automatic checkpoints will do it later */
      }
    }
    return results;
  } finally {
    try {
      // Failed or interrupted: the indexes are still rebuilt before the lock is let go. If even
      // this fails, their SQL stays in meta and the next command that opens the store rebuilds them.
      if (bulk) opened?.finishBulkLoad();
    } finally {
      lock.release();
    }
  }
}

function rebuildingNotice(ctx: Context, built: number): void {
  if (built) ctx.trace(`rebuilt ${built} index(es) an interrupted first sync had deferred`);
}

export function selectConnections(ctx: Context, specs: string[]): Connection[] {
  const store = ctx.store();
  if (specs.length) {
    return specs.map((s) => {
      const c = store.connections.resolve(s);
      if (c.providerType === 'file') {
        throw new OrderlinkError('IMPORT_ONLY', `${connectionHandle(c)} is updated by importing a file, not by sync`, { kind: 'usage', hint: `Run: orderlink import ${c.connector} PATH --alias ${c.alias}` });
      }
      return c;
    });
  }
  // File connections are brought up to date by `orderlink import`, not by sync.
  const all = store.connections.list().filter((c) => (c.status === 'active' || c.status === 'error') && c.providerType !== 'file');
  if (all.length === 0) {
    const any = store.connections.list().filter((c) => c.status === 'reauth_required');
    throw new OrderlinkError('NOTHING_TO_SYNC', any.length ? 'every connection needs to be re-linked before it can sync' : 'there are no connections to sync', {
      kind: any.length ? 'reauth' : 'failure',
      hint: any.length ? `Run: orderlink link --reconnect ${any[0]!.id}` : 'Link one first: `orderlink link` (or try `orderlink demo`).',
    });
  }
  return all;
}
