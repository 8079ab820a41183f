/**
 * Syncing one connection: fetch → policy → validate → map → store, page by page. Each page's
 * rows, the cursor after it and the run's counters commit in one transaction (rule 20), so a
 * crash at any point loses nothing committed and a rerun neither duplicates nor skips. A record
 * that fails its schema is named and skipped, and the run ends `partial` (rule 23).
 */
import type { Connector, NormalizedOrder, Tombstone } from '../connectors/types.js';
import { isTombstone } from '../connectors/types.js';
import { ProviderHttpError } from '../connectors/http.js';
import { MoneyError } from '../connectors/money.js';
import { OrderlinkError } from '../errors.js';
import { applyPolicy } from '../policy/index.js';
import type { Connection, Store } from '../store/index.js';
import type { TokenManager } from '../tokens/index.js';
import { EXPIRY_SKEW_MS } from '../tokens/index.js';
import { createHttp, type RetryPolicy } from './http.js';

export interface RecordError {
  /** Provider order id when we could read one. */
  orderId: string | null;
  page: number;
  index: number;
  /** Dotted path of the failing field. */
  field: string;
  message: string;
}

export interface ConnectionResult {
  connectionId: number;
  handle: string;
  status: 'success' | 'partial' | 'failure' | 'reauth_required';
  mode: 'incremental' | 'full' | 'dry-run';
  pages: number;
  fetched: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  errors: number;
  requests: number;
  durationMs: number;
  recordErrors: RecordError[];
  error: { code: string; message: string; hint?: string | undefined } | null;
}

export interface ProgressEvent {
  connectionId: number;
  handle: string;
  phase: 'start' | 'page' | 'done';
  pages: number;
  fetched: number;
  result?: ConnectionResult;
}

export interface SyncConnectionOptions {
  store: Store;
  connection: Connection;
  handle: string;
  connector: Connector;
  tokens: TokenManager;
  fetch: typeof globalThis.fetch;
  policy: RetryPolicy;
  signal: AbortSignal;
  runId: string;
  full: boolean;
  since: string | null;
  dryRun: boolean;
  pageSize: number;
  maxPages?: number;
  now: () => Date;
  trace: (line: string) => void;
  audit: (action: string, connectionId: number | null, detail: Record<string, unknown>) => void;
  onProgress: (e: ProgressEvent) => void;
}

/** Name the first failing field of a zod error as a dotted path. */
function describeIssue(err: { issues: Array<{ path: PropertyKey[]; message: string }> }): { field: string; message: string } {
  const issue = err.issues[0];
  return { field: issue ? issue.path.map(String).join('.') || '(record)' : '(record)', message: issue?.message ?? 'invalid' };
}

export async function syncConnection(o: SyncConnectionOptions): Promise<ConnectionResult> {
  const started = Date.now();
  const { store, connection: conn, connector } = o;
  const mode = o.dryRun ? 'dry-run' : o.full ? 'full' : 'incremental';
  const result: ConnectionResult = {
    connectionId: conn.id, handle: o.handle, status: 'success', mode, pages: 0, fetched: 0, added: 0, updated: 0,
    unchanged: 0, deleted: 0, errors: 0, requests: 0, durationMs: 0, recordErrors: [], error: null,
  };
  const runRow = store.runs.start(o.runId, conn.id, mode, o.now().toISOString());
  o.audit('sync.start', conn.id, { mode, since: o.since });
  o.onProgress({ connectionId: conn.id, handle: o.handle, phase: 'start', pages: 0, fetched: 0 });

  try {
    const baseUrl = conn.baseUrl ?? connector.baseUrl.default;
    if (!baseUrl) throw new OrderlinkError('NO_BASE_URL', `connection ${o.handle} has no base URL`, { hint: `Re-link it with --base-url.` });

    let session = await o.tokens.accessToken(conn, 'sync');
    const http = createHttp({
      fetch: o.fetch,
      policy: o.policy,
      signal: o.signal,
      trace: (l) => o.trace(`[${o.handle}] ${l}`),
      onRequest: () => result.requests++,
      onUnauthorized: async () => {
        o.trace(`[${o.handle}] 401: refreshing the access token once`);
        session = await o.tokens.accessToken(conn, 'sync (401)', { force: true, staleToken: session.token });
        return `Bearer ${session.token}`;
      },
    });

    let cursor: unknown = null;
    if (!o.full && !o.since && conn.syncCursor) {
      const parsed = connector.cursorSchema.safeParse(JSON.parse(conn.syncCursor));
      if (parsed.success) cursor = parsed.data;
      else o.trace(`[${o.handle}] stored cursor has an old shape; starting over`);
    }
    const writer = store.orderWriter();

    const fetchPage = async (c: unknown) => {
      if (session.expiresAt !== null && session.expiresAt - EXPIRY_SKEW_MS <= Date.now()) {
        session = await o.tokens.accessToken(conn, 'sync (expiring)');
      }
      return connector.fetchOrders({ baseUrl, accessToken: session.token, cursor: c, since: o.since, limit: o.pageSize, signal: o.signal, http });
    };
    // One page of read-ahead: while page N is validated, mapped and committed, page N+1 is
    // already on its way, so the provider's time overlaps ours. Commits stay strictly in order,
    // each with the cursor it ends at (rule 20); a prefetched page that is never committed is
    // simply fetched again by the next run.
    let ahead: Promise<Awaited<ReturnType<typeof fetchPage>>> | null = fetchPage(cursor);
    for (let page = 1; ; page++) {
      if (o.signal.aborted) throw new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });
      const res = await ahead!;
      ahead = null;
      const last = !res.hasMore || (o.maxPages !== undefined && page >= o.maxPages);
      if (!last) {
        ahead = fetchPage(res.nextCursor);
        // Handled where it is awaited; this only stops an early exit from leaving it unobserved.
        ahead.catch(() => undefined);
      }
      const orders: NormalizedOrder[] = [];
      const tombstones: Tombstone[] = [];
      let pageErrors = 0;
      res.records.forEach((raw, index) => {
        const clean = applyPolicy(raw, connector.allowList, connector.freeText);
        const id = typeof (clean as { id?: unknown })?.id === 'string' ? (clean as { id: string }).id : null;
        const parsed = connector.rawSchema.safeParse(clean);
        if (!parsed.success) {
          pageErrors++;
          result.recordErrors.push({ orderId: id, page, index, ...describeIssue(parsed.error) });
          return;
        }
        try {
          const mapped = connector.toOrder(parsed.data);
          if (isTombstone(mapped)) tombstones.push(mapped);
          else orders.push(mapped);
        } catch (err) {
          if (!(err instanceof MoneyError)) throw err;
          pageErrors++;
          result.recordErrors.push({ orderId: id, page, index, field: 'amounts', message: err.message });
        }
      });
      const cursorJson = res.nextCursor === null ? null : JSON.stringify(res.nextCursor);
      const counts = o.dryRun
        ? writer.preview(conn.id, orders, tombstones)
        : writer.commitPage({
            connectionId: conn.id, orders, tombstones, cursor: cursorJson, runRowId: runRow,
            fetched: res.records.length, errors: pageErrors, now: o.now().toISOString(),
          });
      result.pages++;
      result.fetched += res.records.length;
      result.added += counts.added;
      result.updated += counts.updated;
      result.unchanged += counts.unchanged;
      result.deleted += counts.deleted;
      result.errors += pageErrors;
      o.onProgress({ connectionId: conn.id, handle: o.handle, phase: 'page', pages: result.pages, fetched: result.fetched });
      if (last) break;
    }
    result.status = result.errors > 0 ? 'partial' : 'success';
  } catch (err) {
    const e = toSyncError(err);
    result.status = e.kind === 'reauth' ? 'reauth_required' : 'failure';
    result.error = { code: e.code, message: e.message, hint: e.hint };
    if (e.kind === 'interrupted') {
      finish(o, result, runRow, started);
      throw e;
    }
  }
  finish(o, result, runRow, started);
  return result;
}

function finish(o: SyncConnectionOptions, r: ConnectionResult, runRow: number, started: number): void {
  r.durationMs = Date.now() - started;
  const now = o.now().toISOString();
  const detail = r.recordErrors.length ? { records: r.recordErrors.slice(0, 50), ...(r.error ? { error: r.error } : {}) } : r.error;
  if (o.dryRun) {
    // Dry runs write nothing but their own run row.
    o.store.db.prepare('UPDATE sync_runs SET pages = ?, fetched = ?, added = ?, updated = ?, unchanged = ?, deleted = ?, errors = ? WHERE id = ?')
      .run(r.pages, r.fetched, r.added, r.updated, r.unchanged, r.deleted, r.errors, runRow);
  }
  o.store.runs.finish(runRow, r.status, now, r.error?.code ?? (r.errors ? 'INVALID_RECORDS' : null), detail);
  if (!o.dryRun && (r.status === 'success' || r.status === 'partial')) {
    o.store.connections.update(r.connectionId, { lastSyncAt: now, lastError: r.errors ? `${r.errors} invalid record(s) skipped` : null, ...(o.connection.status === 'error' ? { status: 'active' } : {}) });
  } else if (r.status === 'failure' && !o.dryRun) {
    o.store.connections.update(r.connectionId, { lastError: r.error?.message ?? 'failure' });
  }
  o.audit('sync.finish', r.connectionId, {
    status: r.status, mode: r.mode, pages: r.pages, fetched: r.fetched, added: r.added, updated: r.updated,
    unchanged: r.unchanged, deleted: r.deleted, errors: r.errors, ...(r.error ? { error_code: r.error.code } : {}),
  });
  o.onProgress({ connectionId: r.connectionId, handle: r.handle, phase: 'done', pages: r.pages, fetched: r.fetched, result: r });
}

function toSyncError(err: unknown): OrderlinkError {
  // First: a ProviderHttpError is an OrderlinkError too, but a sync says it with its own code.
  if (err instanceof ProviderHttpError) {
    return new OrderlinkError('PROVIDER_REJECTED', `the provider refused the request (HTTP ${err.status}${err.providerMessage ? `: ${err.providerMessage}` : ''})`, {
      hint: err.status === 401 || err.status === 403 ? 'The token was not accepted even after a refresh: re-link with `orderlink link --reconnect`.' : 'Check the connection\'s base URL and scopes.',
    });
  }
  if (err instanceof OrderlinkError) return err;
  if (err && typeof err === 'object' && 'issues' in err) {
    return new OrderlinkError('PROVIDER_BAD_PAGE', 'the provider sent a page orderlink cannot read', { hint: 'Run again with --verbose; if it persists the provider changed its API.' });
  }
  return new OrderlinkError('SYNC_FAILED', `sync failed (${err instanceof Error ? err.name : 'unknown error'})`, { hint: 'Run again with --verbose for a trace.' });
}
