/**
 * Syncing one connection: fetch → pipeline (policy → validate → map → check) → store, page by
 * page. What a connector declares drives it: its auth strategy supplies the session, its
 * classifier says what each provider answer means, its checkpoint says when a cursor may be
 * committed, and its capabilities say whether a stored cursor is used at all.
 *
 * - checkpoint `page`: each page's rows, the cursor after it and the run's counters commit in one
 *   transaction (rule 20), so a crash loses nothing committed and a rerun neither duplicates nor
 *   skips.
 * - checkpoint `stream`: pages are held until the provider says the update is complete, then
 *   committed together with the final cursor in one transaction; a `restart` verdict starts the
 *   update again from its first cursor, and nothing of an unfinished update is ever visible.
 *
 * A record that fails is named and skipped, and the run ends `partial` (rule 23). A provider
 * whose cursor repeats, or that says "more" without a cursor, is stopped with a clear error.
 */
import type { Connector } from '../connectors/types.js';
import { ProviderHttpError } from '../connectors/http.js';
import { OrderlinkError } from '../errors.js';
import type { Connection, Store, PageCounts, PageWrite } from '../store/index.js';
import { classifiedHttp, defaultClassifier, StreamRestart, abortableSleep } from './classify.js';
import { backoffDelay, createHttp, type RetryPolicy } from './http.js';
import { mapRecords, type RecordError } from './pipeline.js';
import { createPacer } from './ratelimit.js';
import type { SessionSource } from './session.js';
import { DEFAULT_MAX_DELETE_PERCENT, DeletionGuard, FEWER_RECORDS_MIN_HELD, FEWER_RECORDS_SHARE } from './guard.js';
import { TwinCheck } from './twin.js';

export type { RecordError } from './pipeline.js';

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
  /** Time spent waiting for the provider's usage plan (pacing), and the 429s it still answered. */
  rateLimitWaitMs: number;
  throttled: number;
  durationMs: number;
  recordErrors: RecordError[];
  error: { code: string; message: string; hint?: string | undefined } | null;
  /** Something looked abnormal (far fewer records than held…): said, audited, not fatal. */
  warnings: Array<{ code: string; message: string }>;
  /** Deletions held back by the guard (`--accept-deletions` applies them). */
  held: { deletions: number; records: number; sharePercent: number } | null;
}

export interface ProgressEvent {
  connectionId: number;
  handle: string;
  phase: 'start' | 'page' | 'wait' | 'done';
  pages: number;
  fetched: number;
  result?: ConnectionResult;
  /** phase 'wait': the rate limit holds the next request of `operation` until `until` (epoch ms). */
  wait?: { operation: string; waitMs: number; until: number; requestsPerSecond: number };
}

export interface SyncConnectionOptions {
  store: Store;
  connection: Connection;
  handle: string;
  connector: Connector;
  session: SessionSource;
  fetch: typeof globalThis.fetch;
  policy: RetryPolicy;
  signal: AbortSignal;
  runId: string;
  full: boolean;
  since: string | null;
  dryRun: boolean;
  pageSize: number;
  maxPages?: number;
  /** Records one page may hold before it is refused (SECURITY.md rule 28). */
  maxRecordsPerPage?: number;
  /** Percent of a connection's records one run may delete before the deletions are held; null = accept all. */
  maxDeletePercent?: number | null;
  now: () => Date;
  /** Sees each page's raw records before anything else does (`smoke`'s drift check). Never stored. */
  onRawPage?: (records: readonly unknown[]) => void;
  trace: (line: string) => void;
  audit: (action: string, connectionId: number | null, detail: Record<string, unknown>) => void;
  onProgress: (e: ProgressEvent) => void;
  /** ORDERLINK_RATE_PLAN: overrides the connector's documented usage plans (tests, bench). */
  ratePlan?: string | undefined;
}

/** How often a `stream` update is restarted from its first cursor before the run gives up. */
export const MAX_STREAM_RESTARTS = 3;
/** Default cap on records per page (ORDERLINK_MAX_PAGE_RECORDS overrides it). */
export const MAX_RECORDS_PER_PAGE = 10_000;
/** How often a provider that is "not ready yet" is polled (with backoff) within one run. */
export const MAX_NOT_READY_POLLS = 6;

export function apiBaseFor(conn: Connection, connector: Connector): string | null {
  return conn.config.apiBase ?? conn.baseUrl ?? connector.baseUrl.default;
}

export async function syncConnection(o: SyncConnectionOptions): Promise<ConnectionResult> {
  const started = Date.now();
  const { store, connection: conn, connector } = o;
  // A provider without incremental fetches is always read in full: a stored cursor means nothing to it.
  const full = o.full || !connector.capabilities.incremental;
  const mode = o.dryRun ? 'dry-run' : full ? 'full' : 'incremental';
  const result: ConnectionResult = {
    connectionId: conn.id, handle: o.handle, status: 'success', mode, pages: 0, fetched: 0, added: 0, updated: 0,
    unchanged: 0, deleted: 0, errors: 0, requests: 0, rateLimitWaitMs: 0, throttled: 0, durationMs: 0, recordErrors: [], error: null, warnings: [], held: null,
  };
  const runRow = store.runs.start(o.runId, conn.id, mode, o.now().toISOString());
  o.audit('sync.start', conn.id, { mode, since: o.since });
  o.onProgress({ connectionId: conn.id, handle: o.handle, phase: 'start', pages: 0, fetched: 0 });

  try {
    if (!connector.fetchOrders) {
      throw new OrderlinkError('IMPORT_ONLY', `${o.handle} is updated by importing a file, not by sync`, { kind: 'usage', hint: `Run: orderlink import ${connector.id} PATH --alias ${conn.alias}` });
    }
    const baseUrl = apiBaseFor(conn, connector);
    if (!baseUrl) throw new OrderlinkError('NO_BASE_URL', `connection ${o.handle} has no base URL`, { hint: `Re-link it with --base-url.` });
    const provider = safeHost(baseUrl) ?? connector.displayName;

    let session = await o.session.get('sync');
    // Pacing per operation from the connector's usage plans (src/sync/ratelimit.ts); null when it has none.
    const pacer = createPacer({
      descriptor: connector.descriptor,
      override: o.ratePlan,
      trace: (l) => o.trace(`[${o.handle}] ${l}`),
      onThrottled: () => result.throttled++,
      onWait: (w) => {
        result.rateLimitWaitMs += w.waitMs;
        o.onProgress({ connectionId: conn.id, handle: o.handle, phase: 'wait', pages: result.pages, fetched: result.fetched, wait: { operation: w.operation, waitMs: w.waitMs, until: w.until, requestsPerSecond: w.plan.requestsPerSecond } });
      },
    });
    const classify = connector.classify ?? defaultClassifier;
    const transport = createHttp({
      pacer,
      isUnauthorized: (r) => classify(r).kind === 'unauthorized',
      fetch: o.fetch,
      policy: o.policy,
      signal: o.signal,
      trace: (l) => o.trace(`[${o.handle}] ${l}`),
      onRequest: () => result.requests++,
      ...(o.session.refresh
        ? {
            onUnauthorized: async (stale) => {
              o.trace(`[${o.handle}] unauthorized: refreshing the session once`);
              session = await o.session.refresh!('sync (401)', session);
              // Keep the connector's own scheme: Shopify sends the bare token, without "Bearer".
              const bare = stale !== undefined && !/^bearer /i.test(stale);
              return session.type === 'bearer' ? (bare ? session.accessToken : `Bearer ${session.accessToken}`) : '';
            },
          }
        : {}),
    });
    const http = classifiedHttp(transport, {
      classify,
      policy: o.policy,
      provider,
      signal: o.signal,
      trace: (l) => o.trace(`[${o.handle}] ${l}`),
    });

    let startCursor: unknown = null;
    if (!full && !o.since && conn.syncCursor) {
      const parsed = connector.cursorSchema.safeParse(JSON.parse(conn.syncCursor));
      if (parsed.success) startCursor = parsed.data;
      else o.trace(`[${o.handle}] stored cursor has an old shape; starting over`);
    }
    const writer = store.pageWriter(connector.records);
    const guard = new DeletionGuard(store, conn.id, connector.records ?? 'orders', o.dryRun ? null : o.maxDeletePercent === undefined ? DEFAULT_MAX_DELETE_PERCENT : o.maxDeletePercent);
    const heldBefore = guard.held();
    const twin = new TwinCheck(store, conn, connector);
    const fetchOrders = connector.fetchOrders.bind(connector);
    const fetchPage = async (c: unknown) => {
      session = await o.session.get('sync (page)');
      return fetchOrders({ baseUrl, session, config: conn.config, cursor: c, since: o.since, limit: o.pageSize, signal: o.signal, http });
    };

    const stream = connector.checkpoint === 'stream';
    for (let restarts = 0; ; restarts++) {
      try {
        await runPages();
        break;
      } catch (err) {
        if (!(err instanceof StreamRestart) || !stream || restarts + 1 >= MAX_STREAM_RESTARTS) throw err;
        o.trace(`[${o.handle}] ${err.message}; restarting from the first cursor (${restarts + 1}/${MAX_STREAM_RESTARTS - 1})`);
        o.audit('sync.restart', conn.id, { reason: 'provider restart', attempt: restarts + 1 });
        Object.assign(result, { pages: 0, fetched: 0, added: 0, updated: 0, unchanged: 0, deleted: 0, errors: 0, recordErrors: [] });
      }
    }

    async function runPages(): Promise<void> {
      const held: PageWrite[] = [];
      const seen = new Set<string>();
      let cursor: unknown = startCursor;
      if (cursor !== null) seen.add(JSON.stringify(cursor));
      // One page of read-ahead for `page` checkpoints: while page N is validated and committed,
      // page N+1 is on its way. Commits stay in order, each with the cursor it ends at (rule 20).
      let ahead: ReturnType<typeof fetchPage> | null = fetchPage(cursor);
      let polls = 0;
      let complete = false;
      for (let page = 1; ; page++) {
        if (o.signal.aborted) throw new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });
        const res = await ahead!;
        ahead = null;
        if (res.notReady) {
          if (++polls >= MAX_NOT_READY_POLLS) {
            o.trace(`[${o.handle}] the provider has no data ready yet; stopping for now`);
            break;
          }
          const d = Math.max(backoffDelay(polls, o.policy), o.policy.baseDelayMs);
          o.trace(`[${o.handle}] not ready yet; polling again in ${d} ms`);
          await abortableSleep(d, o.signal);
          ahead = fetchPage(cursor);
          page--;
          continue;
        }
        const cap = o.maxRecordsPerPage ?? MAX_RECORDS_PER_PAGE;
        if (res.records.length > cap) {
          throw new OrderlinkError('PROVIDER_PAGE_TOO_LARGE', `${provider} sent ${res.records.length} records in one page (the limit is ${cap})`, {
            hint: 'Nothing of that page was saved. Try a smaller --page-size; if it persists, the provider ignores page sizes (raise ORDERLINK_MAX_PAGE_RECORDS only if you trust it).',
          });
        }
        let key = res.nextCursor === null ? null : JSON.stringify(res.nextCursor);
        // A provider that says "more" without a cursor, or hands back a cursor it already gave,
        // would page forever: this page's records are kept, its cursor is not, and the run stops.
        const loop = res.hasMore && key === null ? paginationError(provider, 'said there are more pages but gave no cursor')
          : res.hasMore && key !== null && seen.has(key) ? paginationError(provider, 'returned a cursor it had already returned (a loop)')
          : null;
        if (loop) key = null;
        if (key !== null) seen.add(key);
        complete = !res.hasMore;
        const last = complete || loop !== null || (o.maxPages !== undefined && page >= o.maxPages);
        if (!last && !stream) {
          ahead = fetchPage(res.nextCursor);
          ahead.catch(() => undefined); // handled where it is awaited
        }
        o.onRawPage?.(res.records);
        const mapped = mapRecords(connector, res.records, page);
        const pageErrors = mapped.errors.length;
        result.recordErrors.push(...mapped.errors);
        const write: PageWrite = {
          connectionId: conn.id, orders: mapped.orders, tombstones: mapped.tombstones, ...(mapped.charges ? { charges: mapped.charges } : {}), cursor: key, runRowId: runRow,
          fetched: res.records.length, errors: pageErrors, now: o.now().toISOString(),
        };
        result.pages++;
        result.fetched += res.records.length;
        result.errors += pageErrors;
        if (o.dryRun) {
          twin.check([write]);
          count(writer.preview(write));
        } else if (stream) held.push(write);
        else {
          twin.check([write]);
          guard.check([write], o.handle);
          const c = writer.commitPage(write);
          guard.committed += c.deleted;
          count(c);
        }
        o.onProgress({ connectionId: conn.id, handle: o.handle, phase: 'page', pages: result.pages, fetched: result.fetched });
        if (loop) throw loop;
        if (last) break;
        cursor = res.nextCursor;
        if (stream) ahead = fetchPage(cursor);
      }
      // A stream cut short (by --max-pages) is not a complete update: nothing of it is committed.
      if (stream && held.length) {
        if (complete) {
          twin.check(held);
          guard.check(held, o.handle);
          for (const c of writer.commitPages(held)) count(c);
        }
        else o.trace(`[${o.handle}] the update was cut short after ${held.length} page(s); nothing of it is committed`);
      }
    }
    // A full, complete read that returns far fewer records than the connection holds.
    if (!o.dryRun && full && !o.since && o.maxPages === undefined && heldBefore >= FEWER_RECORDS_MIN_HELD && result.fetched < FEWER_RECORDS_SHARE * heldBefore) {
      const w = { code: 'FEWER_RECORDS', message: `the provider returned ${result.fetched} records on a full sync; this connection holds ${heldBefore} (nothing was deleted)` };
      result.warnings.push(w);
      o.audit('sync.anomaly', conn.id, { code: w.code, fetched: result.fetched, held: heldBefore });
    }
    result.status = result.errors > 0 ? 'partial' : 'success';
  } catch (err) {
    const e = toSyncError(err);
    result.status = e.kind === 'reauth' ? 'reauth_required' : e.kind === 'partial' ? 'partial' : 'failure';
    if (e.code === 'DELETIONS_HELD') {
      const d = e.details as { would_delete: number; held_records: number; share_percent: number };
      result.held = { deletions: d.would_delete, records: d.held_records, sharePercent: d.share_percent };
      o.audit('sync.held', conn.id, { would_delete: d.would_delete, held_records: d.held_records, share_percent: d.share_percent });
    }
    result.error = { code: e.code, message: e.message, hint: e.hint };
    if (e.kind === 'reauth' && !o.dryRun && conn.status !== 'reauth_required') {
      store.connections.update(conn.id, { status: 'reauth_required', lastError: `reauth required: ${e.code}` });
      o.audit('connection.reauth_required', conn.id, { reason: e.code });
    }
    if (e.kind === 'interrupted' || e.kind === 'vault_locked' || e.kind === 'integrity') {
      finish(o, result, runRow, started);
      throw e;
    }
  }
  finish(o, result, runRow, started);
  return result;

  function count(c: PageCounts): void {
    result.added += c.added;
    result.updated += c.updated;
    result.unchanged += c.unchanged;
    result.deleted += c.deleted;
  }
}

function safeHost(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

function paginationError(provider: string, what: string): OrderlinkError {
  return new OrderlinkError('PAGINATION_LOOP', `${provider} ${what}; stopped instead of paging forever`, {
    hint: 'This is a provider bug. Everything before it is saved; run sync again later, and report it to the provider if it persists.',
  });
}

function finish(o: SyncConnectionOptions, r: ConnectionResult, runRow: number, started: number): void {
  r.durationMs = Date.now() - started;
  const now = o.now().toISOString();
  const detail = r.recordErrors.length ? { records: r.recordErrors.slice(0, 50), ...(r.error ? { error: r.error } : {}) } : r.error;
  if (o.dryRun || o.connector.checkpoint === 'stream') {
    // Dry runs and held streams did not bump the run row page by page.
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
