/**
 * The staging table: every row of every file goes into a temporary SQLite FILE (not memory),
 * then comes back sorted by order id, one order at a time. That is what keeps memory flat in the
 * export's size (SQLite's page cache is bounded) while still joining rows that are not adjacent:
 * an order's lines, its refunds from another file, its digital-order status from a third.
 *
 * The file lives in a private temporary folder named after this process; it is removed when the
 * import ends, and a folder left by a killed import (kill -9) is removed by the next one. It holds
 * allow-listed, cleaned values only — never a column the import does not read.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StagedRow } from './rows.js';

const PREFIX = 'orderlink-amazon-import-';

export interface GroupRow extends StagedRow {
  src: number;
  line: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove staging folders whose process is gone (a kill -9 leaves one behind). */
export function sweepStale(dir = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(n);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(dir, n), { recursive: true, force: true });
  }
}

export class Staging {
  private readonly dir: string;
  private readonly db: Database.Database;
  private readonly ins: Database.Statement;
  private pending = 0;
  private readonly cleanup = () => this.remove();

  constructor() {
    sweepStale();
    this.dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
    this.db = new Database(join(this.dir, 'stage.db'));
    // A scratch file: no journal, no fsync, a bounded page cache (8 MB), sorts spill to files.
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -8000');
    this.db.pragma('temp_store = FILE');
    this.db.exec('CREATE TABLE row (k TEXT NOT NULL, kind TEXT NOT NULL, src INTEGER NOT NULL, line INTEGER NOT NULL, cur TEXT, rank INTEGER NOT NULL, dedupe TEXT, j TEXT NOT NULL)');
    this.ins = this.db.prepare('INSERT INTO row (k, kind, src, line, cur, rank, dedupe, j) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    process.once('exit', this.cleanup);
    this.db.exec('BEGIN');
  }

  add(src: number, line: number, r: StagedRow): void {
    this.ins.run(r.k, r.kind, src, line, r.cur, r.rank, r.dedupe, JSON.stringify(r.j));
    if (++this.pending >= 20_000) {
      this.db.exec('COMMIT; BEGIN');
      this.pending = 0;
    }
  }

  /** Every order's rows together, orders in id order, rows in file then line order. */
  *groups(): Generator<GroupRow[]> {
    this.db.exec('COMMIT');
    this.db.exec('CREATE INDEX row_order ON row (k, src, line)');
    let group: GroupRow[] = [];
    const it = this.db.prepare('SELECT k, kind, src, line, cur, rank, dedupe, j FROM row ORDER BY k, src, line').iterate() as IterableIterator<
      Omit<GroupRow, 'j'> & { j: string }
    >;
    for (const r of it) {
      if (group.length && group[0]!.k !== r.k) {
        yield group;
        group = [];
      }
      group.push({ ...r, j: JSON.parse(r.j) as GroupRow['j'] });
    }
    if (group.length) yield group;
  }

  close(): void {
    process.off('exit', this.cleanup);
    this.remove();
  }

  private remove(): void {
    try {
      if (this.db.open) this.db.close();
    } catch {
      /* closing a busy handle at exit: the folder goes anyway */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
