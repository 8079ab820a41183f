/**
 * Hostile tests H27-H28 (docs/security.md, SECURITY.md rule 32): files orderlink creates are
 * created exclusively, 0600, without following a planted symlink; a directory orderlink did not
 * create is never chmod-ed, and an unsafe one is refused. Real binary, real files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';
import { cloneHome } from './helpers/homes.js';
import { runCli, childEnv } from './helpers/cli.js';
import { newEnvKey, tempHome } from './helpers/context.js';

let sb: SandboxHandle;
let base: E2EHome;
const dirs: string[] = [];
const clone = () => {
  const c = cloneHome(base);
  dirs.push(c.home);
  return c;
};
const scratch = () => {
  const d = tempHome('orderlink-hostile-');
  dirs.push(d);
  return d;
};
const mode = (p: string) => lstatSync(p).mode & 0o7777;

beforeAll(async () => {
  sb = await sandbox({ accounts: 1, orders: 40 });
  base = e2eHome();
  await linkSandbox(base, sb, 'alice');
}, 120_000);
afterAll(async () => {
  await sb?.close();
  base?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('H27: planted symlinks at the JUnit temp name and at lock files', () => {
  it('--junit: a symlink at the old predictable FILE.PID.tmp is not followed; the report is 0600', async () => {
    const h = clone();
    const dir = scratch();
    const report = join(dir, 'report.xml');
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'do not touch');
    const r = await h.cli(['sync', '--max-pages', '1', '--junit', report], {
      onSpawn: (child) => symlinkSync(victim, `${report}.${child.pid}.tmp`),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('do not touch');
    expect(lstatSync(report).isFile()).toBe(true);
    expect(readFileSync(report, 'utf8')).toMatch(/<testsuites/);
    expect(mode(report)).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.startsWith('.report.xml.'))).toEqual([]);
  });

  it('a symlink planted at a lock file is refused (exit 6) and its target is neither created nor changed', async () => {
    const h = clone();
    const dir = scratch();
    const locks = join(h.home, 'profiles', 'default', 'locks');
    mkdirSync(locks, { recursive: true, mode: 0o700 });
    rmSync(join(locks, 'sync.lock'), { force: true });
    const missing = join(dir, 'created-through-link');
    symlinkSync(missing, join(locks, 'sync.lock'));
    const r = await h.cli(['--json', 'sync']);
    expect(r.code, r.stdout + r.stderr).toBe(6);
    expect(JSON.parse(r.stdout).error.code).toBe('UNSAFE_PATH');
    expect(existsSync(missing)).toBe(false);

    rmSync(join(h.home, 'profiles', 'default', 'vault.bin.lock'), { force: true });
    const existing = join(dir, 'existing');
    writeFileSync(existing, 'keep');
    symlinkSync(existing, join(h.home, 'profiles', 'default', 'vault.bin.lock'));
    const v = await h.cli(['--json', 'vault', 'rotate']);
    expect(v.code, v.stdout + v.stderr).toBe(6);
    expect(readFileSync(existing, 'utf8')).toBe('keep');
  });

  it('lock files are created 0600 (and an old 0644 one is tightened)', async () => {
    const h = clone();
    const locks = join(h.home, 'profiles', 'default', 'locks');
    for (const f of existsSync(locks) ? readdirSync(locks) : []) chmodSync(join(locks, f), 0o644);
    const r = await h.cli(['sync']);
    expect(r.code, r.stderr).toBe(0);
    const files = [...readdirSync(locks).map((f) => join(locks, f)), join(h.home, 'profiles', 'default', 'vault.bin.lock')].filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) expect(mode(f), f).toBe(0o600);
  });
});

describe('H28: --home on a directory orderlink did not create', () => {
  const env = () => childEnv({ ORDERLINK_VAULT_KEY: newEnvKey(), DBUS_SESSION_BUS_ADDRESS: '' });

  it('a world-writable 1777 directory is refused with a clear error, and its mode is unchanged', async () => {
    const home = scratch();
    chmodSync(home, 0o1777);
    const r = await runCli(['--home', home, 'connections'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/writable by other users \(mode 1777\)/);
    expect(r.stderr).toMatch(/did not change its mode/);
    expect(mode(home)).toBe(0o1777);
    expect(existsSync(join(home, 'profiles'))).toBe(false);
    // doctor says the same, and fixes nothing by itself either.
    const d = await runCli(['--home', home, '--json', 'doctor'], { env: env() });
    expect(d.code).toBe(1);
    const check = (JSON.parse(d.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks.find((c) => c.name === 'data directory')!;
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/writable by other users \(mode 1777\)/);
    expect(mode(home)).toBe(0o1777);
  });

  it('a group-writable directory is refused too; a 0755 one is used as it is, never chmod-ed', async () => {
    const gw = scratch();
    chmodSync(gw, 0o770);
    expect((await runCli(['--home', gw, 'connections'], { env: env() })).code).toBe(1);
    expect(mode(gw)).toBe(0o770);

    const ok = scratch();
    chmodSync(ok, 0o755);
    const r = await runCli(['--home', ok, 'connections'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(ok)).toBe(0o755);
    // What orderlink creates itself is private.
    expect(mode(join(ok, 'profiles'))).toBe(0o700);
    expect(mode(join(ok, 'profiles', 'default'))).toBe(0o700);
    expect(statSync(join(ok, 'profiles', 'default', 'orderlink.db')).mode & 0o777).toBe(0o600);
  });

  it('a symlinked profile directory is refused', async () => {
    const home = scratch();
    const elsewhere = scratch();
    mkdirSync(join(home, 'profiles'), { mode: 0o700 });
    symlinkSync(elsewhere, join(home, 'profiles', 'default'));
    const r = await runCli(['--home', home, 'connections'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a plain directory/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});
