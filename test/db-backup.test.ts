/**
 * Hostile tests H24-H25 (docs/security.md): a damaged orderlink.db is refused, never recreated;
 * `orderlink backup` is consistent during a sync, never overwrites or follows a link, survives
 * kill -9, and the restore in docs/backup.md works. Real binary, real SQLite, real files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { cloneHome } from './helpers/homes.js';
import { tempHome } from './helpers/context.js';

let sb: SandboxHandle;
let base: E2EHome;
const dirs: string[] = [];
const clone = () => {
  const c = cloneHome(base);
  dirs.push(c.home);
  return c;
};
const out = () => {
  const d = tempHome('orderlink-backups-');
  dirs.push(d);
  return d;
};
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const mode = (p: string) => statSync(p).mode & 0o777;
const orderCount = (h: E2EHome) => h.query<{ n: number }>('SELECT count(*) AS n FROM orders')[0]!.n;

beforeAll(async () => {
  sb = await sandbox({ accounts: 1, orders: 400, faults: 'latency=3ms' });
  base = e2eHome();
  await linkSandbox(base, sb, 'alice');
  const r = await base.cli(['sync']);
  if (r.code !== 0) throw new Error(r.stderr);
}, 120_000);
afterAll(async () => {
  await sb?.close();
  base?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DAMAGE: Record<string, (db: string) => void> = {
  'zero-length': (db) => truncateSync(db, 0),
  truncated: (db) => truncateSync(db, Math.floor(statSync(db).size / 3)),
  garbage: (db) => writeFileSync(db, Buffer.alloc(statSync(db).size, 0x5a)),
};

describe('H24: a truncated, garbage or zero-length orderlink.db', () => {
  for (const [name, damage] of Object.entries(DAMAGE)) {
    it(`${name}: every command exits 6 DB_DAMAGED with a working hint, and the file is left exactly as it was`, async () => {
      const h = clone();
      // Fold the WAL into the file first, so the damage hits the real data.
      const db = new Database(h.db);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      rmSync(`${h.db}-wal`, { force: true });
      rmSync(`${h.db}-shm`, { force: true });
      damage(h.db);
      const before = sha(h.db);
      for (const args of [['orders'], ['sync'], ['connections'], ['vault', 'status'], ['audit', '--verify'], ['backup', join(out(), 'b.db')]]) {
        const r = await h.cli(['--json', ...args]);
        expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(6);
        const e = (JSON.parse(r.stdout) as { error: { code: string; hint: string } }).error;
        expect(e.code).toBe('DB_DAMAGED');
        expect(e.hint).toMatch(/docs\/backup\.md/);
        expect(sha(h.db), `${args.join(' ')} changed the file`).toBe(before);
      }
      const doctor = await h.cli(['--json', 'doctor']);
      expect(doctor.code).toBe(1);
      const check = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; fix?: string }> }).checks.find((c) => c.name === 'database')!;
      expect(check.status).toBe('fail');
      expect(check.fix).toMatch(/cp BACKUP\.db/);
      expect(sha(h.db)).toBe(before);
    });
  }

  it("doctor's advice works: restore a backup made earlier, and orders, connections and the audit trail are back", async () => {
    const h = clone();
    const dir = out();
    const b = await h.cli(['backup', join(dir, 'b.db'), '--with-vault']);
    expect(b.code, b.stderr).toBe(0);
    const orders = orderCount(h);
    writeFileSync(h.db, 'not a database at all');
    expect((await h.cli(['orders'])).code).toBe(6);
    // What the hint says: move the damaged file (and its -wal/-shm) aside, copy the backup in.
    for (const f of [h.db, `${h.db}-wal`, `${h.db}-shm`]) if (existsSync(f)) renameSync(f, `${f}.damaged`);
    copyFileSync(join(dir, 'b.db'), h.db);
    const r = await h.cli(['--json', 'orders', '--limit', '1000']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(orders);
    const audit = await h.cli(['audit', '--verify']);
    expect(audit.code, audit.stderr).toBe(0);
    const sync = await h.cli(['sync']);
    expect(sync.code, sync.stderr).toBe(0);
  });

  it('a fresh home still creates its database', async () => {
    const h = e2eHome();
    dirs.push(h.home);
    const r = await h.cli(['connections']);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(h.db)).toBe(0o600);
  });
});

describe('H25: orderlink backup', () => {
  it('is consistent while a sync writes, 0600, and the copy restores with its vault', async () => {
    const h = clone();
    const dir = out();
    const sync = h.cli(['sync', '--full', '--page-size', '20']);
    const backups: string[] = [];
    for (let i = 0; i < 4; i++) {
      const file = join(dir, `during-${i}.db`);
      const r = await h.cli(['--json', 'backup', file, '--with-vault']);
      expect(r.code, r.stderr).toBe(0);
      backups.push(file);
    }
    expect((await sync).code).toBe(0);
    for (const f of backups) {
      expect(mode(f)).toBe(0o600);
      expect(mode(`${f}.vault.bin`)).toBe(0o600);
      const db = new Database(f, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const { n, uniq } = db.prepare('SELECT count(*) AS n, count(DISTINCT order_id) AS uniq FROM orders').get() as { n: number; uniq: number };
      expect(n).toBe(uniq);
      db.close();
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('-wal'))).toEqual([]);
    // Restore the last one, database and vault, into a new home: tokens work, nothing is a rollback.
    const r2 = cloneHome(h);
    dirs.push(r2.home);
    const last = backups.at(-1)!;
    for (const f of readdirSync(dirname(r2.db))) if (f.startsWith('orderlink.db') || f === 'vault.bin') rmSync(join(dirname(r2.db), f));
    copyFileSync(last, r2.db);
    copyFileSync(`${last}.vault.bin`, r2.vault);
    const again = await r2.cli(['sync']);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('never overwrites without --force, never follows a planted link, and --force replaces the link itself', async () => {
    const h = clone();
    const dir = out();
    const file = join(dir, 'b.db');
    writeFileSync(file, 'precious');
    const r = await h.cli(['--json', 'backup', file]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('BACKUP_EXISTS');
    expect(readFileSync(file, 'utf8')).toBe('precious');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'victim');
    const link = join(dir, 'link.db');
    symlinkSync(victim, link);
    expect((await h.cli(['backup', link])).code).toBe(2);
    const f = await h.cli(['backup', link, '--force']);
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('victim');
    expect(lstatSync(link).isFile()).toBe(true);
    expect(mode(link)).toBe(0o600);
  });

  it('kill -9 at random moments never leaves a partial backup under the real name', async () => {
    const h = clone();
    const dir = out();
    let killed = 0;
    for (let i = 0; i < 8; i++) {
      const file = join(dir, `k${i}.db`);
      const delay = 40 + Math.floor(Math.random() * 200);
      const r = await h.cli(['backup', file, '--with-vault'], { onSpawn: (c) => setTimeout(() => c.kill('SIGKILL'), delay) });
      if (r.signal === 'SIGKILL') killed++;
      if (existsSync(file)) {
        const db = new Database(file, { readonly: true });
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();
      }
    }
    expect(killed).toBeGreaterThan(0);
    // The source is untouched and still works.
    expect((await h.cli(['orders', '--limit', '1'])).code).toBe(0);
  }, 60_000);
});
