/**
 * `orderlink smoke` through the real binary against the built-in sandbox, told to drift: every
 * kind of schema change is reported by path, as a warning or (with --strict) a failure, with a
 * JUnit report of one testcase per check — and nothing but run records is written.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../src/sandbox/index.js';
import { e2eHome, linkSandbox, sandbox, type E2EHome } from './helpers/e2e.js';

interface SmokeJson {
  ok: boolean;
  checks: Array<{ connection: string; name: string; status: string; code?: string; message: string; details?: string[] }>;
}

let sb: SandboxHandle;
let h: E2EHome;
beforeAll(async () => {
  sb = await sandbox({ orders: 40 });
  h = e2eHome();
  await linkSandbox(h, sb, 'alice', 'ci');
});
afterAll(async () => {
  h.cleanup();
  await sb.close();
});

async function smoke(args: string[] = []) {
  const r = await h.cli(['--json', 'smoke', ...args]);
  return { r, out: JSON.parse(r.stdout) as SmokeJson };
}

describe('orderlink smoke', () => {
  it('passes every check against an unchanged provider, and writes no orders', async () => {
    sb.setFaults('');
    const { r, out } = await smoke(['sandbox:ci', '--max-pages', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(out.checks.map((c) => `${c.name}:${c.status}`)).toEqual(['link:pass', 'fetch:pass', 'schema:pass', 'drift:pass']);
    expect(h.query<{ n: number }>('SELECT count(*) n FROM orders')[0]!.n).toBe(0);
  });

  for (const [kind, line] of [
    ['add', 'added: gift_wrap'],
    ['remove', 'removed: items[].category'],
    ['rename', 'renamed: note → customer_note'],
  ] as const) {
    it(`drift=${kind} is reported by path as a warning (exit 0), and as a failure with --strict (exit 1)`, async () => {
      sb.setFaults(`drift=${kind}`);
      const warn = await smoke(['sandbox:ci']);
      expect(warn.r.code).toBe(0);
      const d = warn.out.checks.find((c) => c.name === 'drift')!;
      expect(d).toMatchObject({ status: 'warn', code: 'SCHEMA_DRIFT' });
      expect(d.details).toContain(line);
      const strict = await smoke(['sandbox:ci', '--strict']);
      expect(strict.r.code).toBe(1);
      expect(strict.out.checks.find((c) => c.name === 'drift')!.status).toBe('fail');
    });
  }

  it('drift=retype: the retyped field by path, and the records it breaks fail the schema check (exit 3)', async () => {
    sb.setFaults('drift=retype');
    const { r, out } = await smoke(['sandbox:ci']);
    expect(r.code).toBe(3);
    expect(out.checks.find((c) => c.name === 'drift')!.details).toContain('retyped: amounts.total (string → number)');
    const schema = out.checks.find((c) => c.name === 'schema')!;
    expect(schema).toMatchObject({ status: 'fail', code: 'INVALID_RECORDS' });
    expect(schema.details![0]).toMatch(/amounts\.total/);
  });

  it('writes a JUnit report with one testcase per check', async () => {
    sb.setFaults('drift=add');
    const file = join(h.home, 'smoke.xml');
    const r = await h.cli(['smoke', 'sandbox:ci', '--strict', '--junit', file]);
    expect(r.code).toBe(1);
    const xml = readFileSync(file, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(4);
    expect(xml).toMatch(/<testcase classname="orderlink\.smoke\.sandbox:ci" name="drift"[^>]*>\s*<failure type="SCHEMA_DRIFT"/);
    expect(xml).toContain('added: gift_wrap');
    sb.setFaults('');
  });

  it('links a named connector the CI way when it has no connection, then checks it', async () => {
    const h2 = e2eHome();
    try {
      const rt = await sb.mintRefreshToken('bob');
      const r = await h2.cli(['--json', 'smoke', 'sandbox', '--base-url', sb.issuer, '--refresh-token-env', 'SMOKE_RT'], { env: { SMOKE_RT: rt } });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as SmokeJson;
      expect(out.checks.every((c) => c.connection === 'sandbox:smoke' && c.status === 'pass')).toBe(true);
      // Without a way to link, it says what to do.
      const none = await h2.cli(['smoke', 'nosuch']);
      expect(none.code).toBe(2);
    } finally {
      h2.cleanup();
    }
  });

  it('a connection that needs re-linking fails the link check with exit 4', async () => {
    await sb.revokeAllFor('alice');
    sb.setFaults('access-ttl=1s');
    await new Promise((r) => setTimeout(r, 1500));
    const { r, out } = await smoke(['sandbox:ci']);
    sb.setFaults('');
    expect(r.code).toBe(4);
    expect(out.checks[0]).toMatchObject({ name: 'link', status: 'fail', code: 'REAUTH_REQUIRED' });
  });
});
