/**
 * Charges (card and bank transactions, e.g. Plaid): the write side and the queries. Charges are
 * kept apart from orders so no spending figure counts one purchase twice (issue 10).
 *
 * Writes follow the order writer's rules (SECURITY.md rules 20–21): a page's charges, the cursor
 * after it and the run's counters commit in one transaction (or a whole stream of pages in one,
 * checkpoint 'stream'); upserts key on (connection, transaction id) and compare a content hash;
 * a provider removal sets deleted_at. A pending charge that posts arrives as "removed" (the pending
 * id) + "added" (a new id whose pending_transaction_id names the pending one): whatever order the
 * two arrive in, and even when they arrive in different updates, only one of them is live.
 */
import { nodeCrypto } from '../lazy-crypto.js';
import type { Statement } from 'better-sqlite3';
import { isRemovedCharge, type ChargeChange, type NormalizedCharge } from '../domain.js';
import type { DB } from './db.js';
import type { PageCounts, PageWrite as OrderPageWrite } from './orders.js';

/** One page for the writers: orders and tombstones (order connectors) or charges (charge connectors). */
export type PageWrite = OrderPageWrite & { charges?: readonly ChargeChange[] };

export function chargeHash(c: NormalizedCharge): string {
  const text = JSON.stringify([c.accountId, c.date, c.datetime, c.merchant, c.amount, c.currency, c.pending, c.category, c.pendingTransactionId]);
  return nodeCrypto().createHash('sha1').update(text).digest('base64');
}

type Found = { id: number; content_hash: string; deleted_at: string | null };

export class ChargeWriter {
  private readonly find: Statement<[number, string], Found>;
  private readonly insert: Statement;
  private readonly update: Statement;
  private readonly remove: Statement;
  private readonly supersededBy: Statement<[number, string], { n: number }>;
  private readonly cursor: Statement;
  private readonly run: Statement;

  constructor(private readonly db: DB) {
    this.find = db.prepare('SELECT id, content_hash, deleted_at FROM charges WHERE connection_id = ? AND transaction_id = ?');
    this.insert = db.prepare(
      `INSERT INTO charges (connection_id, transaction_id, account_id, date, datetime, merchant, amount, currency, pending, category, pending_transaction_id, content_hash, first_seen_at, updated_at, deleted_at)
       VALUES (@connectionId, @transactionId, @accountId, @date, @datetime, @merchant, @amount, @currency, @pending, @category, @pendingTransactionId, @hash, @now, @now, @deletedAt)`,
    );
    this.update = db.prepare(
      `UPDATE charges SET account_id = @accountId, date = @date, datetime = @datetime, merchant = @merchant, amount = @amount, currency = @currency,
         pending = @pending, category = @category, pending_transaction_id = @pendingTransactionId, content_hash = @hash, updated_at = @now, deleted_at = @deletedAt
       WHERE id = @id`,
    );
    this.remove = db.prepare('UPDATE charges SET deleted_at = ?, updated_at = ? WHERE connection_id = ? AND transaction_id = ? AND deleted_at IS NULL');
    this.supersededBy = db.prepare('SELECT count(*) AS n FROM charges WHERE connection_id = ? AND pending_transaction_id = ? AND deleted_at IS NULL');
    this.cursor = db.prepare('UPDATE connections SET sync_cursor = ? WHERE id = ?');
    this.run = db.prepare(
      `UPDATE sync_runs SET pages = pages + 1, fetched = fetched + ?, added = added + ?, updated = updated + ?, unchanged = unchanged + ?,
         deleted = deleted + ?, errors = errors + ? WHERE id = ?`,
    );
  }

  commitPage(w: PageWrite): PageCounts {
    return this.db.transaction((x: PageWrite) => this.writePage(x)).immediate(w);
  }

  /** Several pages as ONE transaction (checkpoint 'stream'). */
  commitPages(ws: readonly PageWrite[]): PageCounts[] {
    return this.db.transaction((all: readonly PageWrite[]) => all.map((w) => this.writePage(w))).immediate(ws);
  }

  /** What a page would do, without writing (sync --dry-run). */
  preview(w: PageWrite): PageCounts {
    const c: PageCounts = { added: 0, updated: 0, unchanged: 0, deleted: 0 };
    for (const ch of w.charges ?? []) {
      const row = this.find.get(w.connectionId, ch.transactionId);
      if (isRemovedCharge(ch)) {
        if (row && row.deleted_at === null) c.deleted++;
      } else if (!row) c.added++;
      else if (row.content_hash === chargeHash(ch) && row.deleted_at === null) c.unchanged++;
      else c.updated++;
    }
    return c;
  }

  private writePage(w: PageWrite): PageCounts {
    const c: PageCounts = { added: 0, updated: 0, unchanged: 0, deleted: 0 };
    for (const ch of w.charges ?? []) {
      if (isRemovedCharge(ch)) {
        c.deleted += this.remove.run(w.now, w.now, w.connectionId, ch.transactionId).changes;
        continue;
      }
      // A posted charge retires the pending one it replaces, even if the provider's "removed"
      // for it has not arrived yet; a pending charge whose posted successor is already here is
      // stored as retired. Either way one purchase is one live charge.
      if (ch.pendingTransactionId !== null) c.deleted += this.remove.run(w.now, w.now, w.connectionId, ch.pendingTransactionId).changes;
      const retired = ch.pending && this.supersededBy.get(w.connectionId, ch.transactionId)!.n > 0;
      const hash = chargeHash(ch);
      const row = this.find.get(w.connectionId, ch.transactionId);
      const params = {
        connectionId: w.connectionId,
        transactionId: ch.transactionId,
        accountId: ch.accountId,
        date: ch.date,
        datetime: ch.datetime,
        merchant: ch.merchant,
        amount: ch.amount,
        currency: ch.currency,
        pending: ch.pending ? 1 : 0,
        category: ch.category,
        pendingTransactionId: ch.pendingTransactionId,
        hash,
        now: w.now,
        deletedAt: retired ? w.now : null,
      };
      if (!row) {
        this.insert.run(params);
        c.added++;
      } else if (row.content_hash === hash && (row.deleted_at === null) === !retired) {
        c.unchanged++;
      } else {
        this.update.run({ ...params, id: row.id });
        c.updated++;
      }
    }
    if (w.cursor !== null) this.cursor.run(w.cursor, w.connectionId);
    if (w.runRowId !== null) this.run.run(w.fetched, c.added, c.updated, c.unchanged, c.deleted, w.errors, w.runRowId);
    return c;
  }
}

export interface ChargeFilter {
  connectionIds?: number[];
  /** Calendar dates, inclusive. */
  since?: string;
  until?: string;
  /** Case-insensitive substring of the merchant. */
  merchant?: string;
  pending?: boolean;
  limit?: number;
}

export interface ChargeRow {
  connection_id: number;
  transaction_id: string;
  account_id: string;
  date: string;
  datetime: string | null;
  merchant: string;
  amount: number;
  currency: string;
  pending: number;
  category: string | null;
  pending_transaction_id: string | null;
}

export class ChargeQueries {
  constructor(private readonly db: DB) {}

  private where(f: ChargeFilter): { sql: string; params: unknown[] } {
    const parts = ['deleted_at IS NULL'];
    const params: unknown[] = [];
    if (f.connectionIds?.length) {
      parts.push(`connection_id IN (${f.connectionIds.map(() => '?').join(', ')})`);
      params.push(...f.connectionIds);
    }
    if (f.since) parts.push('date >= ?'), params.push(f.since);
    if (f.until) parts.push('date <= ?'), params.push(f.until);
    if (f.merchant) {
      parts.push("lower(merchant) LIKE ? ESCAPE '\\'");
      params.push(`%${f.merchant.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
    }
    if (f.pending !== undefined) parts.push('pending = ?'), params.push(f.pending ? 1 : 0);
    return { sql: parts.join(' AND '), params };
  }

  /** Newest first; streamed so an export of every charge stays flat in memory. */
  iterate(f: ChargeFilter): IterableIterator<ChargeRow> {
    const w = this.where(f);
    const limit = f.limit ? ` LIMIT ${Math.trunc(f.limit)}` : '';
    return this.db
      .prepare(
        `SELECT connection_id, transaction_id, account_id, date, datetime, merchant, amount, currency, pending, category, pending_transaction_id
         FROM charges WHERE ${w.sql} ORDER BY date DESC, transaction_id${limit}`,
      )
      .iterate(...w.params) as IterableIterator<ChargeRow>;
  }

  /** Count and net total per currency (positive = money out) for the same filter. */
  totals(f: ChargeFilter): Array<{ currency: string; count: number; total: number }> {
    const w = this.where(f);
    return this.db.prepare(`SELECT currency, count(*) AS count, sum(amount) AS total FROM charges WHERE ${w.sql} GROUP BY currency ORDER BY currency`).all(...w.params) as Array<{
      currency: string;
      count: number;
      total: number;
    }>;
  }

  purge(connectionId: number): number {
    return this.db.prepare('DELETE FROM charges WHERE connection_id = ?').run(connectionId).changes;
  }
}
