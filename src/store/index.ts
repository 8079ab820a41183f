/**
 * The store: one SQLite file per profile. It never sees a token: connections hold a vault
 * reference only. Repositories hang off one Store object so commands open the file once.
 */
import { AuditLog } from './audit.js';
import { Connections } from './connections.js';
import { integrityCheck, openDatabase, schemaVersion, type DB } from './db.js';
import { OrderWriter } from './orders.js';
import { beginBulkLoad, bulkLoadPending, finishBulkLoad } from './bulk-load.js';
import { ChargeQueries, ChargeWriter, type PageWrite } from './charges.js';
import type { PageCounts } from './orders.js';
import type { RecordKind } from '../domain.js';
import { OrderQueries } from './queries.js';
import { SyncRuns } from './runs.js';

export { connectionHandle } from './connections.js';
export type { Connection, ConnectionStatus, ProviderType, NewConnection } from './connections.js';
export type { PageCounts } from './orders.js';
export type { PageWrite, ChargeFilter, ChargeRow } from './charges.js';

/** What the sync engine writes pages through: orders or charges, same transaction rules. */
export interface PageWriter {
  commitPage(w: PageWrite): PageCounts;
  commitPages(ws: readonly PageWrite[]): PageCounts[];
  preview(w: PageWrite): PageCounts;
}
export type { OrderFilter, OrderRow, ItemRow, StatRow, SortKey } from './queries.js';
export type { SyncRun, RunStatus, RunMode } from './runs.js';
export type { AuditEntry, AuditFilter, AuditVerifyResult, AuditProblem } from './audit.js';

export class Store {
  readonly connections: Connections;
  readonly audit: AuditLog;
  readonly runs: SyncRuns;
  readonly orders: OrderQueries;
  readonly charges: ChargeQueries;
  private writer: OrderWriter | undefined;
  private chargeWriter: ChargeWriter | undefined;

  constructor(
    readonly db: DB,
    readonly profile: string,
    readonly path: string,
  ) {
    this.connections = new Connections(db, profile);
    this.audit = new AuditLog(db);
    this.runs = new SyncRuns(db);
    this.orders = new OrderQueries(db);
    this.charges = new ChargeQueries(db);
  }

  /** The page writer (its statements are prepared on first use). */
  orderWriter(): OrderWriter {
    return (this.writer ??= new OrderWriter(this.db));
  }

  /**
   * Bulk-load mode for a first sync into an empty store (store/bulk-load.ts): the secondary
   * indexes are dropped, crash-safely, and the writer inserts before it looks up. Under the sync lock.
   */
  beginBulkLoad(): boolean {
    const on = beginBulkLoad(this.db);
    if (on) this.orderWriter().insertFirst = true;
    return on;
  }

  /** Rebuild what a bulk load (this one, or one a crash interrupted) dropped; how many indexes. */
  finishBulkLoad(): number {
    if (this.writer) this.writer.insertFirst = false;
    return finishBulkLoad(this.db);
  }

  bulkLoadPending(): boolean {
    return bulkLoadPending(this.db);
  }

  /** The page writer for a connector's kind of record (charges are never written as orders). */
  pageWriter(records: RecordKind = 'orders'): PageWriter {
    if (records === 'charges') return (this.chargeWriter ??= new ChargeWriter(this.db));
    const w = this.orderWriter();
    return { commitPage: (p) => w.commitPage(p), commitPages: (ps) => w.commitPages(ps), preview: (p) => w.preview(p.connectionId, p.orders, p.tombstones) };
  }

  /** Delete a connection's orders (disconnect --purge); the connection row and the audit trail stay. */
  purgeOrders(connectionId: number): number {
    const n = this.db.transaction(() => {
      this.db.prepare('DELETE FROM orders_fts WHERE rowid IN (SELECT id FROM orders WHERE connection_id = ?)').run(connectionId);
      return this.db.prepare('DELETE FROM orders WHERE connection_id = ?').run(connectionId).changes;
    }).immediate();
    // A contentless FTS5 index keeps a deleted document's words in its segments until they are
    // merged: 'optimize' merges them, so the purged item names really leave the file.
    if (n > 0) this.db.exec("INSERT INTO orders_fts (orders_fts) VALUES ('optimize')");
    return n;
  }

  static open(path: string, profile: string): Store {
    return new Store(openDatabase(path), profile, path);
  }

  getMeta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** The vault's rollback high-water mark lives here, outside the vault file it protects. */
  vaultGeneration(): { get(): number; set(n: number): void } {
    return {
      get: () => Number(this.getMeta('vault_generation') ?? '0'),
      set: (n: number) => this.setMeta('vault_generation', String(n)),
    };
  }

  schemaVersion(): number {
    return schemaVersion(this.db);
  }

  integrityProblems(): string[] {
    return integrityCheck(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
