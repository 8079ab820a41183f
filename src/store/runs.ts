/** sync_runs: one row per connection per `sync` invocation, carrying the same figures the summary shows. */
import type { DB } from './db.js';

import type { RunMode, RunStatus } from '../domain.js';

export type { RunMode, RunStatus } from '../domain.js';

export interface SyncRun {
  id: number;
  runId: string;
  connectionId: number;
  mode: RunMode;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  pages: number;
  fetched: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  errors: number;
  errorCode: string | null;
  errorDetail: unknown;
}

interface Row {
  id: number;
  run_id: string;
  connection_id: number;
  mode: RunMode;
  started_at: string;
  ended_at: string | null;
  status: RunStatus;
  pages: number;
  fetched: number;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  errors: number;
  error_code: string | null;
  error_detail: string | null;
}

const fromRow = (r: Row): SyncRun => ({
  id: r.id,
  runId: r.run_id,
  connectionId: r.connection_id,
  mode: r.mode,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  status: r.status,
  pages: r.pages,
  fetched: r.fetched,
  added: r.added,
  updated: r.updated,
  unchanged: r.unchanged,
  deleted: r.deleted,
  errors: r.errors,
  errorCode: r.error_code,
  errorDetail: r.error_detail ? (JSON.parse(r.error_detail) as unknown) : null,
});

export class SyncRuns {
  constructor(private readonly db: DB) {}

  start(runId: string, connectionId: number, mode: RunMode, now: string): number {
    // A run left 'running' by a crashed process is closed as a failure when the next one starts.
    this.db
      .prepare("UPDATE sync_runs SET status = 'failure', ended_at = ?, error_code = 'INTERRUPTED' WHERE connection_id = ? AND status = 'running'")
      .run(now, connectionId);
    return Number(
      this.db
        .prepare("INSERT INTO sync_runs (run_id, connection_id, mode, started_at, status) VALUES (?, ?, ?, ?, 'running')")
        .run(runId, connectionId, mode, now).lastInsertRowid,
    );
  }

  finish(id: number, status: Exclude<RunStatus, 'running'>, now: string, errorCode: string | null = null, errorDetail: unknown = null): void {
    this.db
      .prepare('UPDATE sync_runs SET status = ?, ended_at = ?, error_code = ?, error_detail = ? WHERE id = ?')
      .run(status, now, errorCode, errorDetail === null ? null : JSON.stringify(errorDetail), id);
  }

  get(id: number): SyncRun | undefined {
    const r = this.db.prepare('SELECT * FROM sync_runs WHERE id = ?').get(id) as Row | undefined;
    return r && fromRow(r);
  }

  recent(connectionId?: number, limit = 20): SyncRun[] {
    const rows = (connectionId === undefined
      ? this.db.prepare('SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?').all(limit)
      : this.db.prepare('SELECT * FROM sync_runs WHERE connection_id = ? ORDER BY id DESC LIMIT ?').all(connectionId, limit)) as Row[];
    return rows.map(fromRow);
  }
}
