/**
 * The foundation commands through the real binary: doctor, vault status / rotate / migrate,
 * connections, audit --verify, --help opening nothing, and the demo.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, childEnv } from './helpers/cli.js';
import { newEnvKey } from './helpers/context.js';

let root: string;
beforeAll(() => (root = mkdtempSync(join(tmpdir(), 'ol-e2e-cmd-'))));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const home = (name: string) => join(root, name);
// No D-Bus session: the keychain is unreachable, so only env/passphrase sources can work.
const noKeychain = (extra: NodeJS.ProcessEnv = {}) => {
  const env = childEnv(extra);
  delete env.DBUS_SESSION_BUS_ADDRESS;
  return env;
};

describe('start-up opens nothing', () => {
  it('--help and command --help create no files and touch no keychain', async () => {
    const h = home('help');
    for (const args of [['--help'], ['sync', '--help'], ['orders', 'stats', '--help'], ['vault', 'status', '--help'], ['--version']]) {
      const r = await runCli(['--home', h, ...args], { env: noKeychain() });
      expect(r.code, args.join(' ')).toBe(0);
    }
    expect(existsSync(h)).toBe(false);
  });
});

describe('doctor', () => {
  it('passes with an env key and reports the key source as JSON', async () => {
    const r = await runCli(['--home', home('doc1'), 'doctor', '--json'], { env: noKeychain({ ORDERLINK_VAULT_KEY: newEnvKey() }) });
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
    expect(report.ok).toBe(true);
    expect(r.code).toBe(0);
    expect(report.checks.find((c) => c.name === 'key source')!.detail).toMatch(/^env/);
  });

  it('fails with a fix for each problem when no key source is usable', async () => {
    const r = await runCli(['--home', home('doc2'), 'doctor'], { env: noKeychain() });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/key source\s+fail/);
    expect(r.stderr).toMatch(/ORDERLINK_VAULT_KEY/);
    expect(r.stderr).toMatch(/PASSPHRASE/);
  });

  it('names a tampered audit log', async () => {
    const h = home('doc3');
    const env = noKeychain({ ORDERLINK_VAULT_KEY: newEnvKey() });
    const { Store } = await import('../src/store/index.js');
    const { profilePaths, ensureProfileDirs } = await import('../src/paths.js');
    const paths = profilePaths(h, 'default');
    ensureProfileDirs(paths);
    const dbPath = paths.db;
    const s = Store.open(dbPath, 'default');
    s.audit.append('r', 'a.one', null, { n: 1 });
    s.audit.append('r', 'a.two', null, { n: 2 });
    s.close();
    const db = new Database(dbPath);
    db.prepare("UPDATE audit_log SET action = 'a.forged' WHERE seq = 1").run();
    db.close();
    const r = await runCli(['--home', h, 'doctor', '--json'], { env });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'audit chain').status).toBe('fail');
    const v = await runCli(['--home', h, 'audit', '--verify'], { env });
    expect(v.code).toBe(6);
    expect(v.stderr).toMatch(/row 1 \(a\.forged\) was edited/);
  });
});

describe('vault commands', () => {
  it('status before a vault exists says how one gets created', async () => {
    const r = await runCli(['--home', home('v0'), 'vault', 'status'], { env: noKeychain({ ORDERLINK_VAULT_KEY: newEnvKey() }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no vault yet/);
  });

  it('rotate and migrate env → passphrase → env keep every secret and never print one', async () => {
    const h = home('v1');
    const key = newEnvKey();
    const { openVault } = await import('../src/vault/index.js');
    const { profilePaths, ensureProfileDirs } = await import('../src/paths.js');
    const { Store } = await import('../src/store/index.js');
    const p = profilePaths(h, 'default');
    ensureProfileDirs(p);
    const store = Store.open(p.db, 'default');
    const vault = await openVault({ path: p.vault, profile: 'default', env: { ORDERLINK_VAULT_KEY: key }, generation: store.vaultGeneration() });
    vault.put('conn-a', 'SECRET-VALUE-ONE');
    vault.put('conn-b', 'SECRET-VALUE-TWO');
    store.close();

    const env = noKeychain({ ORDERLINK_VAULT_KEY: key });
    const st = await runCli(['--home', h, 'vault', 'status', '--json'], { env });
    expect(JSON.parse(st.stdout)).toMatchObject({ key_source: 'env', secrets: 2, rotated_at: null });

    const rot = await runCli(['--home', h, 'vault', 'rotate'], { env });
    expect(rot.code).toBe(0);
    expect(JSON.parse((await runCli(['--home', h, 'vault', 'status', '--json'], { env })).stdout).rotated_at).not.toBeNull();

    const mig = await runCli(['--home', h, 'vault', 'migrate', '--to', 'passphrase'], { env: { ...env, ORDERLINK_VAULT_PASSPHRASE: 'correct horse battery' } });
    expect(mig.code, mig.stderr).toBe(0);
    const penv = noKeychain({ ORDERLINK_VAULT_PASSPHRASE: 'correct horse battery' });
    expect(JSON.parse((await runCli(['--home', h, 'vault', 'status', '--json'], { env: penv })).stdout)).toMatchObject({ key_source: 'passphrase', secrets: 2 });
    const wrong = await runCli(['--home', h, 'vault', 'status'], { env: noKeychain({ ORDERLINK_VAULT_PASSPHRASE: 'wrong horse' }) });
    expect(wrong.code).toBe(5);

    const back = await runCli(['--home', h, 'vault', 'migrate', '--to', 'env'], { env: penv });
    expect(back.code, back.stderr).toBe(0);
    const newKey = /ORDERLINK_VAULT_KEY=(\S+)/.exec(back.stdout)![1]!;
    const s2 = Store.open(p.db, 'default');
    const reopened = await openVault({ path: p.vault, profile: 'default', env: { ORDERLINK_VAULT_KEY: newKey }, generation: s2.vaultGeneration() });
    expect(reopened.get('conn-a')).toBe('SECRET-VALUE-ONE');
    expect(reopened.get('conn-b')).toBe('SECRET-VALUE-TWO');
    const audit = s2.audit.list();
    s2.close();
    expect(audit.map((e) => e.action)).toEqual(['vault.rotate', 'vault.migrate', 'vault.migrate']);
    for (const out of [st, rot, mig, back]) expect(out.stdout + out.stderr).not.toMatch(/SECRET-VALUE/);
  });

  it('no key source at all: the locked error within 5 s, naming the three options', async () => {
    const h = home('v2');
    const { openVault } = await import('../src/vault/index.js');
    const { profilePaths, ensureProfileDirs } = await import('../src/paths.js');
    const p = profilePaths(h, 'default');
    ensureProfileDirs(p);
    const key = newEnvKey();
    (await openVault({ path: p.vault, profile: 'default', env: { ORDERLINK_VAULT_KEY: key } })).put('x', 'y');
    const r = await runCli(['--home', h, 'vault', 'status'], { env: noKeychain() });
    expect(r.ms).toBeLessThan(5000);
    expect(r.code).toBe(5);
  });
});

describe('files and modes', () => {
  it('the data directory is 0700 and the database 0600', async () => {
    const h = home('modes');
    await runCli(['--home', h, 'connections'], { env: noKeychain() });
    const dir = join(h, 'profiles', 'default');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'orderlink.db')).mode & 0o777).toBe(0o600);
    for (const f of readdirSync(dir).filter((f) => f.startsWith('orderlink.db'))) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
  });

  it('connections on an empty home: a friendly line on a TTY-less run, [] as JSON', async () => {
    const h = home('empty');
    const r = await runCli(['--home', h, 'connections', '--json'], { env: noKeychain() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});

describe('demo', () => {
  it('runs the main job end to end on a machine without a keychain', async () => {
    const h = home('demo');
    const r = await runCli(['--home', h, 'demo', '--orders', '120'], { env: noKeychain(), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/in-memory key/);
    expect(r.stderr).toMatch(/sandbox:personal/);
    expect(r.stderr).toMatch(/sandbox:work/);
    expect(r.stdout).toMatch(/audit log intact/);
    const db = new Database(join(h, 'profiles', 'default', 'orderlink.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM orders').get()).toEqual({ n: 240 });
    db.close();
  });
});
