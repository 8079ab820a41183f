/**
 * Cross-process locks that a crash cannot leave behind. Each lock is a tiny SQLite file held by
 * an open `BEGIN EXCLUSIVE` transaction: the OS releases it when the process dies (even on
 * kill -9), so there are no stale lock files to clean up. Waiting polls without blocking the
 * event loop. Within one process an async mutex orders callers first, since SQLite locks are
 * per connection, not per process.
 */
import Database from 'better-sqlite3';
import { closeSync, constants, fchmodSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { OrderlinkError } from './errors.js';

/**
 * Create (or reuse) a lock file without following a planted symlink, 0600 (SECURITY.md rule 32).
 * O_NOFOLLOW makes a symlink at the path fail with ELOOP instead of creating or opening its
 * target; a lock file left 0644 by an older version is tightened through the descriptor.
 */
export function createLockFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new OrderlinkError('UNSAFE_PATH', `the lock file ${path} is a symbolic link; orderlink does not follow it`, {
        kind: 'integrity',
        hint: 'Someone or something replaced the lock file with a link: remove it (orderlink recreates it) and check who can write to your data directory.',
      });
    }
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new OrderlinkError('UNSAFE_PATH', `the lock file ${path} is not a regular file`, { kind: 'integrity', hint: 'Remove it; orderlink recreates it.' });
    if (process.platform !== 'win32' && (st.mode & 0o777) !== 0o600) fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

export interface Lock {
  release(): void;
}

const local = new Map<string, Promise<void>>();

export interface AcquireOptions {
  /** How long to wait for another holder; 0 = fail at once. */
  waitMs: number;
  signal?: AbortSignal;
  /** Called once if we have to wait (to print "waiting for another sync…"). */
  onWait?: () => void;
  /** Describes the holder in the BUSY error. */
  what: string;
}

export async function acquireLock(dir: string, name: string, opts: AcquireOptions): Promise<Lock> {
  const path = join(dir, `${name.replace(/[^a-zA-Z0-9_.-]/g, '_')}.lock`);
  // In-process queue.
  const prev = local.get(path) ?? Promise.resolve();
  let releaseLocal!: () => void;
  const mine = new Promise<void>((r) => (releaseLocal = r));
  const chained = prev.then(() => mine);
  local.set(path, chained);
  await prev;

  const deadline = Date.now() + opts.waitMs;
  let db: Database.Database | undefined;
  let warned = false;
  try {
    createLockFile(path);
    db = new Database(path);
    // busy_timeout 0: we poll ourselves (without blocking the event loop). No journal_mode
    // pragma: changing it needs the very lock another holder has (SQLITE_BUSY outside the loop),
    // and a lock file is never anything but the default rollback-journal mode anyway.
    db.pragma('busy_timeout = 0');
    for (;;) {
      try {
        db.exec('BEGIN EXCLUSIVE');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
        if (opts.signal?.aborted) throw new OrderlinkError('INTERRUPTED', 'interrupted while waiting for a lock', { kind: 'interrupted' });
        if (Date.now() >= deadline) {
          throw new OrderlinkError('BUSY', `${opts.what} is already running on this data directory`, {
            kind: 'busy',
            hint: 'Wait for it to finish (or pass --wait SECONDS), then try again.',
          });
        }
        if (!warned) {
          opts.onWait?.();
          warned = true;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (err) {
    db?.close();
    releaseLocal();
    if (local.get(path) === chained) local.delete(path);
    throw err;
  }
  return held(db!, () => {
    releaseLocal();
    if (local.get(path) === chained) local.delete(path);
  });
}

/** A lock held by an open transaction on `db`: released once, however often release() is called. */
function held(db: Database.Database, after: () => void = () => {}): Lock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        db.exec('ROLLBACK');
      } catch {
        /* already gone */
      }
      db.close();
      after();
    },
  };
}

/**
 * Take a lock only if nobody holds it, without waiting and without the event loop (for a repair
 * done in passing, such as rebuilding an interrupted bulk load's indexes when a store is opened).
 * Null when it is held, by another process or by this one.
 */
export function tryLock(dir: string, name: string): Lock | null {
  const path = join(dir, `${name.replace(/[^a-zA-Z0-9_.-]/g, '_')}.lock`);
  if (local.has(path)) return null;
  createLockFile(path);
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw err;
  }
  return held(db);
}

export async function withLock<T>(dir: string, name: string, opts: AcquireOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(dir, name, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
