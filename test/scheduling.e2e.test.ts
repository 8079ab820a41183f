/**
 * Scheduling through the real binary: per-connection intervals, `sync --due` syncing only what is
 * due, reauth forecasting (`connections` warns; `sync --due` exits 4 before a credential breaks),
 * and the cron line and systemd ExecStart of docs/scheduling.md actually run.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { BIN } from './helpers/cli.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';

let sb: SandboxHandle;
let h: E2EHome;
let conn: number;
beforeAll(async () => {
  sb = await sandbox({ orders: 30 });
  h = e2eHome();
  conn = await linkSandbox(h, sb, 'alice', 'home');
});
afterAll(async () => {
  h.cleanup();
  await sb.close();
});

/** "Time passes": the last sync moves into the past. */
function age(hours: number, connected = false): void {
  const db = new Database(h.db);
  try {
    const at = new Date(Date.now() - hours * 3_600_000).toISOString();
    db.prepare(`UPDATE connections SET last_sync_at = ?${connected ? ', connected_at = ?' : ''} WHERE id = ?`).run(...(connected ? [at, at, conn] : [at, conn]));
  } finally {
    db.close();
  }
}

const ordersRequests = () => sb.stats().requests['api.orders'] ?? 0;

describe('sync --due', () => {
  it('syncs a never-synced connection, then nothing until its interval has passed', async () => {
    const first = await h.cli(['--json', 'sync', '--due']);
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { connections: unknown[] }).connections).toHaveLength(1);
    const before = ordersRequests();
    const second = await h.cli(['sync', '--due']);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Nothing is due \(next: /);
    expect(ordersRequests()).toBe(before);
  });

  it('honours a per-connection interval set with `connections set --every`', async () => {
    expect((await h.cli(['connections', 'set', 'sandbox:home', '--every', '6h'])).code).toBe(0);
    age(5);
    expect((await h.cli(['sync', '--due'])).stderr).toMatch(/Nothing is due/);
    age(7);
    const r = await h.cli(['--json', 'sync', '--due']);
    expect((JSON.parse(r.stdout) as { connections: Array<{ connection: string }> }).connections.map((c) => c.connection)).toEqual(['sandbox:home']);
    const list = JSON.parse((await h.cli(['--json', 'connections'])).stdout) as Array<{ sync_every: string; next_due_at: string }>;
    expect(list[0]!.sync_every).toBe('6h');
    expect(Date.parse(list[0]!.next_due_at) - Date.now()).toBeGreaterThan(5 * 3_600_000);
    const bad = await h.cli(['connections', 'set', 'sandbox:home', '--every', 'often']);
    expect(bad.code).toBe(2);
  });

  it('forecasts reauth: `connections` warns a week ahead, and `sync --due` exits 4 while it can still be renewed', async () => {
    expect((await h.cli(['connections', 'set', 'sandbox:home', '--every', 'off'])).code).toBe(0);
    age(25 * 24); // the sandbox's refresh tokens die after 30 idle days
    const list = await h.cli(['connections']);
    expect(list.stderr).toMatch(/sandbox:home: its credential is expected to stop working in [45] day\(s\)/);
    const json = JSON.parse((await h.cli(['--json', 'connections'])).stdout) as Array<{ reauth_forecast: { soon: boolean; days_left: number } }>;
    expect(json[0]!.reauth_forecast).toMatchObject({ soon: true });
    const due = await h.cli(['sync', '--due']);
    expect(due.code).toBe(4);
    expect(due.stderr).toMatch(/Re-link it: orderlink link --reconnect sandbox:home/);
    // A sync uses (and so renews) the credential: the warning goes away.
    expect((await h.cli(['sync', 'sandbox:home'])).code).toBe(0);
    expect((await h.cli(['sync', '--due'])).code).toBe(0);
    expect((await h.cli(['connections', 'set', 'sandbox:home', '--every', '24h'])).code).toBe(0);
  });
});

describe('docs/scheduling.md, run as written', () => {
  const doc = readFileSync(new URL('../docs/scheduling.md', import.meta.url), 'utf8');
  /** A PATH where `orderlink` is this build's binary, as after `npm install -g`. */
  function pathWithOrderlink(): string {
    const bin = join(h.home, 'bin');
    mkdirSync(bin, { recursive: true });
    try {
      symlinkSync(BIN, join(bin, 'orderlink'));
    } catch {
      /* made by an earlier test */
    }
    return `${bin}:${process.env.PATH}`;
  }
  beforeAll(async () => {
    expect((await h.cli(['connections', 'set', 'sandbox:home', '--every', '24h'])).code).toBe(0);
  });
  /** Runs a shell command line the way cron and systemd would (asynchronously: the sandbox lives in this process). */
  const run = (command: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { env: { ...h.env, ORDERLINK_HOME: h.home, HOME: h.home, PATH: pathWithOrderlink() } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  it('the cron line runs and appends a JSON report to its log', async () => {
    const line = /```cron\n(.+)\n```/.exec(doc)![1]!;
    const fields = line.trim().split(/\s+/);
    expect(fields.slice(0, 5)).toEqual(['*/30', '*', '*', '*', '*']); // a valid schedule
    mkdirSync(join(h.home, '.local', 'state'), { recursive: true });
    age(48);
    const r = await run(fields.slice(5).join(' '));
    expect(r.status, r.stderr).toBe(0);
    const log = readFileSync(join(h.home, '.local', 'state', 'orderlink-sync.log'), 'utf8');
    expect((JSON.parse(log) as { connections: Array<{ status: string }> }).connections[0]!.status).toBe('success');
  });

  it("the systemd service's ExecStart runs, and both units pass systemd-analyze verify", async () => {
    // The page's absolute path stands for `command -v orderlink`: here, this build's binary.
    const installed = join(pathWithOrderlink().split(':')[0]!, 'orderlink');
    const service = /orderlink-sync\.service`:\n\n```ini\n([\s\S]+?)```/.exec(doc)![1]!.replace(/^ExecStart=\/usr\/local\/bin\/orderlink /m, `ExecStart=${installed} `);
    const timer = /orderlink-sync\.timer`:\n\n```ini\n([\s\S]+?)```/.exec(doc)![1]!;
    const exec = /^ExecStart=(.+)$/m.exec(service)![1]!;
    expect(exec.startsWith(`${installed} `), 'ExecStart names orderlink by an absolute path').toBe(true);
    const units = join(h.home, 'units');
    mkdirSync(units, { recursive: true });
    writeFileSync(join(units, 'orderlink-sync.service'), service);
    writeFileSync(join(units, 'orderlink-sync.timer'), timer);
    const verify = await run(`systemd-analyze verify ${units}/orderlink-sync.timer ${units}/orderlink-sync.service`).catch(() => null);
    if (verify && verify.status !== 127) expect(verify.status, verify.stderr).toBe(0);
    else console.log('scheduling: systemd-analyze is not installed here; the units were checked by their text only');
    age(48);
    const r = await run(exec);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { connections: unknown[] }).connections).toHaveLength(1);
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(timer).toMatch(/^OnUnitActiveSec=30min$/m);
    expect(timer).toMatch(/^WantedBy=timers\.target$/m);
  });
});
