/**
 * Profiles through the real binary: listing and showing where each lives, deleting with
 * confirmation, and a mistyped --profile being a usage error that names the existing ones —
 * while a fresh home's default profile and the commands that create profiles still work.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';

let sb: SandboxHandle;
let h: E2EHome;

beforeAll(async () => {
  sb = await sandbox({ accounts: 2, orders: 30 });
  h = e2eHome();
}, 60_000);
afterAll(async () => {
  await sb.close();
  h.cleanup();
});

describe('a fresh home', () => {
  it('the default profile works for every reading command, and nothing lists yet', async () => {
    const c = await h.cli(['connections']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe(''); // piped: no rows ("No connections yet" is for a terminal)
    const j = await h.cli(['--json', 'connections']);
    expect(j.code, j.stderr).toBe(0);
    const o = await h.cli(['orders']);
    expect(o.code, o.stderr).toBe(0);
    const p = await h.cli(['--json', 'profiles']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).profiles.map((x: { name: string }) => x.name)).toEqual(['default']);
  });
});

describe('profiles', () => {
  beforeAll(async () => {
    await linkSandbox(h, sb, 'alice');
    // `link` may create a profile: that is how one starts.
    const rt = await sb.mintRefreshToken('bob');
    const r = await h.cli(['--profile', 'work', 'link', 'sandbox', '--base-url', sb.issuer, '--alias', 'bob', '--refresh-token-env', 'RT'], { env: { RT: rt } });
    expect(r.code, r.stderr).toBe(0);
    expect((await h.cli(['--profile', 'work', 'sync'])).code).toBe(0);
  });

  it('lists every profile: folder, size, connections, orders, last sync', async () => {
    const r = await h.cli(['--json', 'profiles']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { home: string; current: string; profiles: Array<Record<string, unknown>> };
    expect(out.current).toBe('default');
    expect(out.profiles.map((p) => p.name)).toEqual(['default', 'work']);
    const work = out.profiles[1]!;
    expect(work).toMatchObject({ name: 'work', current: false, dir: join(h.home, 'profiles', 'work'), connections: 1, orders: sb.orderCount('bob'), problem: null });
    expect(work.bytes as number).toBeGreaterThan(10_000);
    expect(typeof work.last_sync_at).toBe('string');
    expect(out.profiles[0]).toMatchObject({ name: 'default', current: true, connections: 1, orders: 0, last_sync_at: null });
    const text = await h.cli(['profiles']);
    expect(text.stdout).toMatch(new RegExp(`^work\\t1\\t${sb.orderCount('bob')}\\t`, 'm'));
  });

  it('show NAME says where it lives', async () => {
    const r = await h.cli(['profiles', 'show', 'work']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(join(h.home, 'profiles', 'work', 'orderlink.db'));
    expect(r.stdout).toMatch(/retention\s+off/);
  });

  it('a mistyped --profile is a usage error that lists the existing profiles, and creates nothing', async () => {
    const r = await h.cli(['--profile', 'wrok', 'orders']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no profile "wrok".*profiles: default, work/);
    expect(r.stderr).toMatch(/--profile work/);
    expect(existsSync(join(h.home, 'profiles', 'wrok'))).toBe(false);
    const j = await h.cli(['--json', '--profile', 'wrok', 'connections']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'UNKNOWN_PROFILE', details: { profiles: ['default', 'work'] } });
    const env = await h.cli(['sync'], { env: { ORDERLINK_PROFILE: 'wrok' } });
    expect(env.code).toBe(2);
    const show = await h.cli(['profiles', 'show', 'wrok']);
    expect(show.code).toBe(2);
    expect(existsSync(join(h.home, 'profiles', 'wrok'))).toBe(false);
  });

  it('delete needs --yes without a terminal, then removes the folder', async () => {
    const dir = join(h.home, 'profiles', 'work');
    const no = await h.cli(['profiles', 'delete', 'work']);
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/needs --yes when not in a terminal; nothing was deleted/);
    expect(existsSync(dir)).toBe(true);
    const r = await h.cli(['--json', 'profiles', 'delete', 'work', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ deleted: 'work', dir, connections: 1 });
    expect(existsSync(dir)).toBe(false);
    const list = await h.cli(['--json', 'profiles']);
    expect(JSON.parse(list.stdout).profiles.map((p: { name: string }) => p.name)).toEqual(['default']);
    // Gone means unknown again.
    expect((await h.cli(['--profile', 'work', 'orders'])).code).toBe(2);
  });
});
