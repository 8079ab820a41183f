/**
 * The audit trail: append-only, hash-chained. Each row's hash covers the previous row's hash and
 * a canonical encoding of its own fields, and the chain head is kept in `meta` (updated in the
 * same transaction), so an edited row, a deleted row and a truncated tail are all detected and
 * named by `verify()`. It is tamper-evident, not tamper-proof: someone who can rewrite the file
 * can recompute the chain. Details are JSON objects that must never hold a secret.
 */
import { nodeCrypto } from '../lazy-crypto.js';
import type { DB } from './db.js';

export interface AuditRow {
  seq: number;
  at: string;
  run_id: string;
  action: string;
  connection_id: number | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  runId: string;
  action: string;
  connectionId: number | null;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  since?: string;
  action?: string;
  connectionId?: number;
  limit?: number;
}

export type AuditProblem =
  | { seq: number; kind: 'edited'; message: string }
  | { seq: number; kind: 'deleted'; message: string }
  | { seq: number; kind: 'truncated'; message: string };

export interface AuditVerifyResult {
  ok: boolean;
  rows: number;
  problems: AuditProblem[];
}

const GENESIS = '0'.repeat(64);
const HEAD_KEY = 'audit_head';

function rowHash(prevHash: string, r: Omit<AuditRow, 'hash' | 'prev_hash'>): string {
  const canonical = JSON.stringify([r.seq, r.at, r.run_id, r.action, r.connection_id, r.detail]);
  return nodeCrypto().createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

/** Keys whose values are never allowed into the trail, whatever a caller passes. */
const FORBIDDEN_KEY = /(^|_|[a-z])(token|secret|password|passphrase|verifier|cardNumber|card_number)s?$|^(code|authorization)$/i;

function sanitizeDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) {
    if (v === undefined) continue;
    out[k] = FORBIDDEN_KEY.test(k) && typeof v === 'string' ? '[redacted]' : v;
  }
  return out;
}

export class AuditLog {
  constructor(private readonly db: DB) {}

  append(runId: string, action: string, connectionId: number | null, detail: Record<string, unknown> = {}, at = new Date()): number {
    const tx = this.db.transaction(() => {
      const last = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
        | { seq: number; hash: string }
        | undefined;
      const seq = (last?.seq ?? 0) + 1;
      const prev = last?.hash ?? GENESIS;
      const row = { seq, at: at.toISOString(), run_id: runId, action, connection_id: connectionId, detail: JSON.stringify(sanitizeDetail(detail)) };
      const hash = rowHash(prev, row);
      this.db
        .prepare('INSERT INTO audit_log (seq, at, run_id, action, connection_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(row.seq, row.at, row.run_id, row.action, row.connection_id, row.detail, prev, hash);
      this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(HEAD_KEY, `${seq}:${hash}`);
      return seq;
    });
    return tx.immediate();
  }

  list(filter: AuditFilter = {}): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.since) {
      where.push('at >= ?');
      args.push(filter.since);
    }
    if (filter.action) {
      // "link" matches "link", "link.start", "link.success", ...
      where.push("(action = ? OR action LIKE ? ESCAPE '\\')");
      args.push(filter.action, filter.action.replace(/[\\%_]/g, (c) => '\\' + c) + '.%');
    }
    if (filter.connectionId !== undefined) {
      where.push('connection_id = ?');
      args.push(filter.connectionId);
    }
    const sql = `SELECT * FROM (SELECT * FROM audit_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY seq DESC ${filter.limit ? 'LIMIT ' + Math.floor(filter.limit) : ''}) ORDER BY seq ASC`;
    return (this.db.prepare(sql).all(...args) as AuditRow[]).map(toEntry);
  }

  verify(): AuditVerifyResult {
    const problems: AuditProblem[] = [];
    let prev = GENESIS;
    let expectedSeq = 1;
    let rows = 0;
    for (const r of this.db.prepare('SELECT * FROM audit_log ORDER BY seq ASC').iterate() as IterableIterator<AuditRow>) {
      rows++;
      if (r.seq !== expectedSeq) {
        problems.push({ seq: expectedSeq, kind: 'deleted', message: `row${r.seq - expectedSeq > 1 ? 's' : ''} ${expectedSeq}${r.seq - expectedSeq > 1 ? `–${r.seq - 1}` : ''} missing before row ${r.seq}` });
      } else if (r.prev_hash !== prev) {
        problems.push({ seq: r.seq, kind: 'deleted', message: `row ${r.seq} does not follow the row before it` });
      }
      const recomputed = rowHash(r.prev_hash, r);
      if (recomputed !== r.hash) {
        problems.push({ seq: r.seq, kind: 'edited', message: `row ${r.seq} (${r.action}) was edited after it was written` });
      }
      prev = r.hash;
      expectedSeq = r.seq + 1;
    }
    const head = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(HEAD_KEY) as { value: string } | undefined;
    if (head) {
      const [seqText, hash] = head.value.split(':');
      const headSeq = Number(seqText);
      if (headSeq >= expectedSeq) {
        problems.push({ seq: expectedSeq, kind: 'truncated', message: `rows ${expectedSeq}–${headSeq} were removed from the end of the log` });
      } else if (headSeq === expectedSeq - 1 && hash !== prev) {
        problems.push({ seq: headSeq, kind: 'edited', message: `the last row (${headSeq}) does not match the recorded chain head` });
      }
    } else if (rows > 0) {
      problems.push({ seq: 0, kind: 'truncated', message: 'the recorded chain head is missing' });
    }
    return { ok: problems.length === 0, rows, problems };
  }
}

function toEntry(r: AuditRow): AuditEntry {
  let detail: Record<string, unknown>;
  try {
    detail = JSON.parse(r.detail) as Record<string, unknown>;
  } catch {
    detail = { unparsable: true };
  }
  return { seq: r.seq, at: r.at, runId: r.run_id, action: r.action, connectionId: r.connection_id, detail };
}
