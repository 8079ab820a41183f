/**
 * Copies of one linked home, so hostile tests can break a vault or a database without linking
 * again each time, and a child whose stdout is a file (/dev/full) or a pipe closed by its reader.
 */
import { cpSync, openSync, closeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { BIN, type CliOptions, type CliResult } from './cli.js';
import { tempHome } from './context.js';
import { homeAt, type E2EHome } from './e2e.js';

export function cloneHome(src: Pick<E2EHome, 'home' | 'env'>, env: NodeJS.ProcessEnv = src.env): E2EHome {
  const home = tempHome('orderlink-clone-');
  cpSync(src.home, home, { recursive: true });
  // The callers remove their clones themselves (with the rest of their scratch directories).
  return { ...homeAt(home, env), cleanup: () => {} };
}

/** Run the binary with stdout on /dev/full (ENOSPC on write) or a pipe its reader closed at once (EPIPE). */
export function runWithBrokenStdout(args: string[], env: NodeJS.ProcessEnv, how: 'full' | 'closed', opts: Pick<CliOptions, 'timeoutMs'> = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const fd = how === 'full' ? openSync('/dev/full', 'w') : undefined;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
    if (fd !== undefined) closeSync(fd);
    else child.stdout!.destroy();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: '', stderr, ms: Date.now() - started });
    });
  });
}

/** Hold orderlink.db's write lock from this process (another program, e.g. a SQLite browser). */
export function holdDatabase(dbPath: string): { release(): void } {
  const db = new Database(dbPath);
  db.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
    },
  };
}
