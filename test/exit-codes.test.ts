/**
 * H29 (docs/security.md): one table, through the real binary — every command that opens the
 * vault × every vault failure → the documented exit code (README "Exit codes") and error code.
 * Then SQLite's own failures (full, busy, corrupt, not a database), produced by real SQLite,
 * mapped by errors.ts so that none is "internal error (SqliteError)".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { mapError } from '../src/errors.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { cloneHome, holdDatabase } from './helpers/homes.js';
import { newEnvKey, tempHome } from './helpers/context.js';

let sb: SandboxHandle;
let base: E2EHome;
let olderVault: Buffer;
const dirs: string[] = [];

beforeAll(async () => {
  sb = await sandbox({ accounts: 3, orders: 20 });
  base = e2eHome({ ORDERLINK_VAULT_PASSPHRASE: 'a passphrase for migrate' });
  await linkSandbox(base, sb, 'alice');
  await linkSandbox(base, sb, 'bob');
  olderVault = readFileSync(base.vault);
  const r = await base.cli(['vault', 'rotate']);
  if (r.code !== 0) throw new Error(r.stderr);
}, 120_000);
afterAll(async () => {
  await sb?.close();
  base?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Each failure: how to break a copy of the linked home, the env to run with, the expected outcome. */
const FAILURES: Array<{ name: string; exit: 5 | 6; code: string; env?: NodeJS.ProcessEnv; breakIt?: (h: E2EHome) => void }> = [
  { name: 'no key source (ORDERLINK_VAULT_KEY unset)', exit: 5, code: 'VAULT_LOCKED', env: { ORDERLINK_VAULT_KEY: '' } },
  { name: 'wrong key', exit: 5, code: 'VAULT_WRONG_KEY', env: { ORDERLINK_VAULT_KEY: newEnvKey() } },
  {
    name: 'tampered (one flipped byte)',
    exit: 6,
    code: 'VAULT_TAMPERED',
    breakIt: (h) => {
      const b = readFileSync(h.vault);
      b[Math.floor(b.length / 2)]! ^= 0x01;
      writeFileSync(h.vault, b);
    },
  },
  { name: 'rolled back (an older vault.bin)', exit: 6, code: 'VAULT_ROLLBACK', breakIt: (h) => writeFileSync(h.vault, olderVault) },
  {
    name: 'symlinked vault.bin',
    exit: 6,
    code: 'VAULT_UNSAFE_PATH',
    breakIt: (h) => {
      renameSync(h.vault, join(h.home, 'real-vault.bin'));
      symlinkSync(join(h.home, 'real-vault.bin'), h.vault);
    },
  },
  { name: 'missing vault.bin', exit: 6, code: 'VAULT_FILE_MISSING', breakIt: (h) => rmSync(h.vault) },
];

const COMMANDS: Array<{ name: string; args: () => Promise<{ args: string[]; env?: NodeJS.ProcessEnv }> }> = [
  { name: 'sync', args: async () => ({ args: ['sync'] }) },
  { name: 'sync one connection', args: async () => ({ args: ['sync', 'sandbox:alice', '--dry-run'] }) },
  { name: 'vault status', args: async () => ({ args: ['vault', 'status'] }) },
  { name: 'vault rotate', args: async () => ({ args: ['vault', 'rotate'] }) },
  { name: 'vault migrate', args: async () => ({ args: ['vault', 'migrate', '--to', 'passphrase'] }) },
  { name: 'disconnect', args: async () => ({ args: ['disconnect', 'sandbox:bob', '--yes'] }) },
  {
    name: 'link (CI refresh token)',
    args: async () => ({ args: ['link', 'sandbox', '--base-url', sb.issuer, '--alias', 'carol', '--refresh-token-env', 'E2E_RT'], env: { E2E_RT: await sb.mintRefreshToken('carol') } }),
  },
];

describe('H29: every command that opens the vault × every vault failure → documented exit and error code', () => {
  for (const f of FAILURES) {
    it(`${f.name} → exit ${f.exit} ${f.code}`, async () => {
      const h = cloneHome(base, { ...base.env, ...f.env });
      dirs.push(h.home);
      f.breakIt?.(h);
      const vaultBefore = (() => {
        try {
          return readFileSync(h.vault);
        } catch {
          return undefined;
        }
      })();
      const table: string[] = [];
      for (const c of COMMANDS) {
        const { args, env } = await c.args();
        const r = await h.cli(['--json', ...args], { ...(env ? { env } : {}) });
        let code = 'unparsable';
        try {
          code = (JSON.parse(r.stdout) as { error: { code: string } }).error.code;
        } catch {
          /* keep 'unparsable' */
        }
        table.push(`${c.name}: exit ${r.code} ${code}`);
      }
      expect(table).toEqual(COMMANDS.map((c) => `${c.name}: exit ${f.exit} ${f.code}`));
      // Nothing was rewritten or recreated behind the person's back.
      if (vaultBefore) expect(readFileSync(h.vault).equals(vaultBefore)).toBe(true);
      else expect(() => readFileSync(h.vault)).toThrow();
      // doctor reports rather than fails: exit 1 with the vault's error code in its vault check.
      const d = await h.cli(['--json', 'doctor']);
      expect(d.code).toBe(1);
      const vault = (JSON.parse(d.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks.find((c) => c.name === 'vault')!;
      expect(vault.status).toBe('fail');
      expect(vault.detail).toContain(f.code);
    });
  }

  it('sync opens the vault once: one error line, not one per connection', async () => {
    const h = cloneHome(base, { ...base.env, ORDERLINK_VAULT_KEY: newEnvKey() });
    dirs.push(h.home);
    const r = await h.cli(['sync']);
    expect(r.code).toBe(5);
    expect(r.stderr.match(/not the key this vault was sealed with/g)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/sandbox:alice|sandbox:bob/);
  });

  it('the database locked by another program: sync waits the busy timeout, then exits 7 DB_BUSY', async () => {
    const h = cloneHome(base);
    dirs.push(h.home);
    const lock = holdDatabase(h.db);
    try {
      const r = await h.cli(['--json', 'sync']);
      expect(r.code, r.stdout + r.stderr).toBe(7);
      expect(JSON.parse(r.stdout).error.code).toBe('DB_BUSY');
      expect(r.ms).toBeGreaterThan(4500);
    } finally {
      lock.release();
    }
  }, 30_000);
});

describe('SQLite failures are conditions with codes, never "internal error (SqliteError)"', () => {
  const thrown = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected a throw');
  };
  const dir = () => {
    const d = tempHome('orderlink-sqlite-');
    dirs.push(d);
    return d;
  };

  it('SQLITE_FULL → DISK_FULL, exit 1, with a hint', () => {
    const db = new Database(join(dir(), 'full.db'));
    db.exec('CREATE TABLE t (b BLOB)');
    db.pragma('max_page_count = 8');
    const err = thrown(() => {
      for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(4096));
    });
    db.close();
    expect((err as { code: string }).code).toBe('SQLITE_FULL');
    expect(mapError(err)).toMatchObject({ exitCode: 1, code: 'DISK_FULL', internal: false, hint: expect.stringMatching(/Free some space/) });
  });

  it('SQLITE_BUSY → DB_BUSY, exit 7', () => {
    const path = join(dir(), 'busy.db');
    const a = new Database(path);
    a.exec('CREATE TABLE t (x)');
    a.exec('BEGIN EXCLUSIVE');
    const b = new Database(path);
    b.pragma('busy_timeout = 0');
    const err = thrown(() => b.exec('INSERT INTO t VALUES (1)'));
    a.exec('ROLLBACK');
    a.close();
    b.close();
    expect((err as { code: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(mapError(err)).toMatchObject({ exitCode: 7, code: 'DB_BUSY', internal: false });
  });

  it('SQLITE_NOTADB and SQLITE_CORRUPT → DB_DAMAGED, exit 6', () => {
    const d = dir();
    writeFileSync(join(d, 'garbage.db'), Buffer.alloc(8192, 0x41));
    const g = new Database(join(d, 'garbage.db'));
    const notadb = thrown(() => g.prepare('SELECT * FROM sqlite_schema').all());
    g.close();
    expect((notadb as { code: string }).code).toBe('SQLITE_NOTADB');
    expect(mapError(notadb)).toMatchObject({ exitCode: 6, code: 'DB_DAMAGED', internal: false });

    const path = join(d, 'corrupt.db');
    const c = new Database(path);
    c.exec("CREATE TABLE t (x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT printf('%0100d', i) FROM n;");
    c.close();
    const bytes = readFileSync(path);
    bytes.fill(0xff, 4096 + 8, 4096 * 3);
    writeFileSync(path, bytes);
    const c2 = new Database(path);
    const corrupt = thrown(() => c2.prepare('SELECT count(*), max(x) FROM t').get());
    c2.close();
    expect((corrupt as { code: string }).code).toMatch(/^SQLITE_CORRUPT/);
    expect(mapError(corrupt)).toMatchObject({ exitCode: 6, code: 'DB_DAMAGED', internal: false });
  });
});
