/**
 * Issue 12, Diagnostics and consent, through the real binary:
 * - `doctor --bundle FILE` is safe to attach to a public bug report: canaries planted in every
 *   kind of personal or secret value (a connection's account label, its alias, an order id, an
 *   item name, an amount, an address in a last error and in a run's error detail, a token-like
 *   string in an audit detail, the vault key in the environment) never reach the file — the whole
 *   file is searched — while the facts a maintainer needs are there;
 * - the file is new, 0600, written exclusively (never over a file, never through a symlink);
 * - `doctor` never says "All checks passed" beside a warning;
 * - the consent text shown when linking is in the audit trail with its version.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSENT_TEXT } from '../src/link/picker.js';
import { CONSENT_VERSION } from '../src/link/consent.js';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { Store } from '../src/store/index.js';
import { e2eHome, sandbox, type E2EHome } from './helpers/e2e.js';
import { tempHome } from './helpers/context.js';

const LABEL = 'Hortensia Canarywood';
const ALIAS = 'canary-alias-q7';
const ORDER_ID = 'ORD-CANARY-5551';
const ITEM = 'Zebrawood Canary Bowl';
const AMOUNT = '987654.32';
const ADDRESS = '221B Baker Street, London NW1 6XE';
const TOKEN = 'tok_live_CANARY9f8e7d6c5b4a3210';

let h: E2EHome;
let sb: SandboxHandle;
let linkStderr = '';
let conn = 0;

beforeAll(async () => {
  h = e2eHome();
  sb = await sandbox({ accounts: 1, orders: 30 });
  const rt = await sb.mintRefreshToken('alice');
  const link = await h.cli(['--json', 'link', 'sandbox', '--base-url', sb.issuer, '--alias', ALIAS, '--refresh-token-env', 'E2E_RT'], { env: { E2E_RT: rt } });
  expect(link.code, link.stderr).toBe(0);
  linkStderr = link.stderr;
  conn = (JSON.parse(link.stdout) as { connection: { id: number } }).connection.id;
  const sync = await h.cli(['sync']);
  expect(sync.code, sync.stderr).toBe(0);

  // Plant the canaries where a careless bundle would pick them up.
  const db = new Database(h.db);
  db.prepare('UPDATE connections SET account_label = ?, last_error = ? WHERE id = ?').run(LABEL, `provider said: ship to ${ADDRESS}`, conn);
  const o = db.prepare('SELECT id FROM orders ORDER BY id LIMIT 1').get() as { id: number };
  db.prepare('UPDATE orders SET order_id = ?, total = 98765432 WHERE id = ?').run(ORDER_ID, o.id);
  db.prepare('UPDATE order_items SET name = ? WHERE order_ref = ?').run(ITEM, o.id);
  db.prepare(
    "INSERT INTO sync_runs (run_id, connection_id, mode, started_at, ended_at, status, error_code, error_detail) VALUES ('run-canary', ?, 'incremental', '2026-11-30T10:00:00.000Z', '2026-11-30T10:00:02.500Z', 'failure', 'PROVIDER_TIMEOUT', ?)",
  ).run(conn, JSON.stringify({ message: `could not deliver to ${ADDRESS}`, order: ORDER_ID }));
  db.close();
  const store = Store.open(h.db, 'default');
  store.audit.append('run-canary', 'sync.note', conn, { note: `Bearer ${TOKEN}`, item: ITEM, total: AMOUNT });
  store.close();
}, 60_000);

afterAll(async () => {
  await sb?.close();
  h?.cleanup();
});

describe('doctor --bundle FILE', () => {
  it('holds what a maintainer needs and none of the canaries (the whole file is searched)', async () => {
    const file = join(h.home, 'diag.json');
    const r = await h.cli(['doctor', '--bundle', file]);
    expect([0, 1]).toContain(r.code);
    expect(r.stderr).toMatch(/Wrote a diagnostic bundle to .*diag\.json/);

    const text = readFileSync(file, 'utf8');
    const key = h.env.ORDERLINK_VAULT_KEY!;
    for (const canary of [LABEL, ALIAS, ORDER_ID, ITEM, AMOUNT, '98765432', ADDRESS, 'Baker Street', TOKEN, key, key.slice(0, 20), h.home, 'alice']) {
      expect(text, `canary "${canary}" leaked`).not.toContain(canary);
    }
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(h.home).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const b = JSON.parse(text) as Record<string, any>;
    expect(b.format).toBe('orderlink-diagnostics');
    expect(b.versions.node).toBe(process.versions.node);
    expect(b.versions.sqlite).toMatch(/^3\.\d+/);
    expect(b.versions.orderlink).toMatch(/^\d+\.\d+\.\d+/);
    expect(b.settings.key_source).toBe('env');
    expect(b.settings.environment_variables_set).toContain('ORDERLINK_VAULT_KEY');
    expect(b.database.schema_version).toBeGreaterThan(0);
    expect(b.database.counts.orders).toBe(30);
    expect(b.connections).toHaveLength(1);
    expect(b.connections[0]).toMatchObject({ id: 'conn-1', connector: 'sandbox', status: 'active', base_url: 'loopback', orders: 30, last_error: { present: true, kind: 'other', code: 'PROVIDER_TIMEOUT' } });
    expect(b.sync_runs[0]).toMatchObject({ connection: 'conn-1', status: 'failure', error_code: 'PROVIDER_TIMEOUT', duration_ms: 2500 });
    expect(b.sync_runs[1]).toMatchObject({ connection: 'conn-1', status: 'success', fetched: 30 });
    expect(b.sync_errors_by_code).toEqual({ PROVIDER_TIMEOUT: 1 });
    expect(b.audit).toMatchObject({ verified: true, problems: [] });
    expect(b.audit.actions['consent.shown']).toBe(1);
    expect(b.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['runtime', 'database', 'audit chain', 'vault']));
  });

  it('is written exclusively: never over an existing file, never through a planted symlink', async () => {
    const file = join(h.home, 'taken.json');
    writeFileSync(file, 'mine');
    const again = await h.cli(['doctor', '--bundle', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; nothing was written/);
    expect(readFileSync(file, 'utf8')).toBe('mine');

    const victim = join(h.home, 'victim.txt');
    writeFileSync(victim, 'untouched');
    const link = join(h.home, 'link.json');
    symlinkSync(victim, link);
    const r = await h.cli(['--json', 'doctor', '--bundle', link]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'FILE_EXISTS', exitCode: 2 } });
    expect(readFileSync(victim, 'utf8')).toBe('untouched');

    const missing = await h.cli(['doctor', '--bundle', join(h.home, 'no', 'such', 'dir.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/could not write .* nothing was written there/);
    expect(missing.stderr).toMatch(/hint:/);
  });

  it('works before anything is set up (no database, no vault) and creates nothing', async () => {
    const home = tempHome('orderlink-bundle-empty-');
    const file = join(home, 'b.json');
    const r = await h.cli(['--home', home, 'doctor', '--bundle', file], { env: { ORDERLINK_VAULT_KEY: undefined } });
    expect([0, 1]).toContain(r.code);
    const b = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
    expect(b.database).toEqual({ present: false });
    expect(existsSync(join(home, 'profiles', 'default', 'orderlink.db'))).toBe(false);
  });
});

describe('doctor never says "All checks passed" beside warnings', () => {
  it('a warning is counted in the last line, and the exit code stays 0', async () => {
    const dir = join(h.home, 'profiles', 'default');
    chmodSync(dir, 0o750);
    try {
      const r = await h.cli(['doctor']);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/All checks passed/);
      expect(r.stderr).toMatch(/No check failed; \d+ warnings? \(see above\)\./);
      expect(r.stderr).toMatch(/chmod 700/);
    } finally {
      chmodSync(dir, 0o700);
    }
    const json = await h.cli(['--json', 'doctor']);
    const warned = (JSON.parse(json.stdout) as { checks: Array<{ status: string }> }).checks.filter((c) => c.status === 'warn').length;
    const text = await h.cli(['doctor']);
    if (warned === 0) expect(text.stderr).toMatch(/All checks passed\./);
    else expect(text.stderr).toMatch(new RegExp(`No check failed; ${warned} warning`));
  });
});

describe('consent', () => {
  it('the text shown when linking is in the audit trail with its version and digest', async () => {
    expect(linkStderr).toContain(CONSENT_TEXT);
    const r = await h.cli(['--json', 'audit', '--action', 'consent']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ action: string; at: string; detail: Record<string, unknown> }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.action).toBe('consent.shown');
    expect(rows[0]!.detail).toEqual({ version: CONSENT_VERSION, text_sha256: createHash('sha256').update(CONSENT_TEXT).digest('hex'), text: CONSENT_TEXT, shown_in: 'link' });
    const success = JSON.parse((await h.cli(['--json', 'audit', '--action', 'link.success'])).stdout) as Array<{ detail: Record<string, unknown> }>;
    expect(success[0]!.detail.consent).toBe(CONSENT_VERSION);
    const table = await h.cli(['audit', '--action', 'consent']);
    expect(table.stdout).toMatch(/consent\.shown/);
  });
});
