/**
 * `orderlink sandbox serve --provider amazon-seller|shopify`, the way a developer or a CI job uses
 * it: start the replica through the binary, read its URL from stdout, then run *exactly the
 * commands it printed* — through sh, with `orderlink` on PATH and a fresh home — and find the
 * orders in `orderlink orders --json`. A wrong --faults is a usage error listing the faults;
 * Ctrl-C (SIGINT) stops the server with exit 0. Secrets from the environment are never printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from './helpers/cli.js';
import { e2eHome, type E2EHome } from './helpers/e2e.js';

interface Served { url: string; stdout: string; stderr: string; child: ChildProcess; done: Promise<CliResult> }

/** Starts `sandbox serve` and resolves once it has printed its URL (stdout) and its instructions (stderr). */
function serve(args: string[], env: NodeJS.ProcessEnv): Promise<Served> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let settled = false;
    const ready = (c: ChildProcess) => {
      const line = out.split('\n')[0]!;
      const complete = args.includes('--json') ? out.trim().endsWith('}') : out.includes('\n') && err.includes('Press Ctrl-C to stop.');
      if (!settled && complete) {
        settled = true;
        resolve({ url: args.includes('--json') ? (JSON.parse(out) as { url: string }).url : line, stdout: out, stderr: err, child: c, done });
      }
    };
    const done = runCli(['sandbox', 'serve', '--port', '0', ...args], {
      env,
      timeoutMs: 90_000,
      onSpawn: (c) => {
        c.stdout!.on('data', (d: Buffer) => { out += d.toString(); ready(c); });
        c.stderr!.on('data', (d: Buffer) => { err += d.toString(); ready(c); });
      },
    });
    done.then((r) => (settled ? undefined : reject(new Error(`serve exited ${r.code}: ${r.stderr}`))), reject);
  });
}

/** Ctrl-C: the server stops cleanly. */
async function stop(s: Served): Promise<CliResult> {
  s.child.kill('SIGINT');
  const r = await s.done;
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** The commands a person would copy: the indented lines starting with printf, curl or orderlink. */
const printedCommands = (stderr: string) => stderr.split('\n').filter((l) => /^ {2}(printf|curl|orderlink) /.test(l)).map((l) => l.trim());

/** A shell where `orderlink` is this build, the home is `h`'s, and nothing else is set up. */
const shims: string[] = [];
afterAll(() => shims.forEach((d) => rmSync(d, { recursive: true, force: true })));
type Answer = (stderrSoFar: string) => Promise<string> | null;
function shell(h: E2EHome, extraEnv: NodeJS.ProcessEnv = {}): (cmd: string, answer?: Answer) => Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'orderlink-shim-'));
  writeFileSync(join(dir, 'orderlink'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(dir, 'orderlink'), 0o755);
  shims.push(dir);
  const env = { ...h.env, ...extraEnv, ORDERLINK_HOME: h.home, PATH: `${dir}:${h.env.PATH ?? ''}` };
  // `answer` plays the person at the keyboard: once it returns a promise, its text is typed on stdin.
  return (cmd, answer) =>
    new Promise((resolve, reject) => {
      const c = spawn('/bin/sh', ['-c', cmd], { env, stdio: [answer ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let answered = false;
      c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      c.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const typed = answer && !answered ? answer(stderr) : null;
        if (typed) {
          answered = true;
          typed.then((text) => c.stdin!.end(`${text}\n`), (e: unknown) => { c.stdin!.end('\n'); reject(e); });
        }
      });
      const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
      c.on('error', reject);
      c.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    });
}

async function ordersOf(h: E2EHome): Promise<Array<{ connection: string; order_id: string; retailer: string }>> {
  const r = await h.cli(['--json', 'orders', '--limit', '1000']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Array<{ connection: string; order_id: string; retailer: string }>;
}

/** A raw request with a chosen Host header (fetch does not let a caller set it). */
function post(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
}

describe('sandbox serve --provider amazon-seller', () => {
  const homes: E2EHome[] = [];
  afterAll(() => homes.forEach((h) => h.cleanup()));

  it('prints its URL, then commands that set up, link and sync in a fresh home; Ctrl-C stops it', async () => {
    const h = e2eHome();
    homes.push(h);
    const s = await serve(['--provider', 'amazon-seller', '--orders', '30', '--seed', '7'], h.env);
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(s.stdout).toBe(`${s.url}\n`);
      const cmds = printedCommands(s.stderr);
      expect(cmds[0]).toMatch(new RegExp(`^printf '%s\\\\n%s\\\\n' 'amzn1\\.application-oa2-client\\.\\w+' 'amzn1\\.oa2-cs\\.v1\\.\\w+' \\| orderlink connector setup amazon-seller --region na --base-url ${s.url} --token-url ${s.url}/auth/o2/token --credentials-stdin$`));
      expect(cmds[1]).toBe(`curl -fsS -X POST ${s.url}/__replica/refresh-token | orderlink link amazon-seller --refresh-token-stdin --marketplace ATVPDKIKX0DER`);
      expect(cmds[2]).toBe('orderlink sync && orderlink orders');
      expect(s.stderr).not.toMatch(/Atzr\|/); // no refresh token is printed: it is minted on each POST
      const sh = shell(h);
      for (const cmd of cmds) {
        const r = await sh(cmd);
        expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
        expect(r.stdout + r.stderr).not.toMatch(/Atzr\|/);
      }
      const orders = await ordersOf(h);
      expect(orders).toHaveLength(30);
      expect(orders.every((o) => o.connection === 'amazon-seller:default' && o.retailer === 'Amazon.com')).toBe(true);
      // The mint route is the sandbox admin's: the exact Host, no foreign Origin.
      expect(await post(`${s.url}/__replica/refresh-token`, { host: 'rebound.example' })).toBe(403);
      expect(await post(`${s.url}/__replica/refresh-token`, { origin: 'https://evil.example' })).toBe(403);
    } finally {
      const r = await stop(s);
      expect(r.stderr).toMatch(/Amazon SP-API replica stopped\n$/);
    }
  });

  it('--json with credentials from the environment: one object, the secret never printed, its commands work', async () => {
    const h = e2eHome();
    homes.push(h);
    const creds = { ORDERLINK_AMAZON_SELLER_REPLICA_CLIENT_ID: 'amzn1.application-oa2-client.author', ORDERLINK_AMAZON_SELLER_REPLICA_SECRET: 'amzn1.oa2-cs.v1.author-secret-canary-1234' };
    const s = await serve(['--json', '--provider', 'amazon-seller', '--orders', '12', '--rate-plan', 'searchOrders=5:15', '--faults', 'access-ttl=60'], { ...h.env, ...creds });
    try {
      const info = JSON.parse(s.stdout) as Record<string, unknown> & { setup_command: string; link_command: string; rate_plan: { searchOrders: unknown } };
      expect(info).toMatchObject({ url: s.url, token_url: `${s.url}/auth/o2/token`, client_id: creds.ORDERLINK_AMAZON_SELLER_REPLICA_CLIENT_ID, marketplace: 'ATVPDKIKX0DER', region: 'na', orders: 12 });
      expect(info.rate_plan.searchOrders).toEqual({ rate: 5, burst: 15 });
      expect(info).not.toHaveProperty('client_secret');
      expect(s.stdout + s.stderr).not.toContain('secret-canary');
      expect(info.setup_command).toContain('"$ORDERLINK_AMAZON_SELLER_REPLICA_CLIENT_ID" "$ORDERLINK_AMAZON_SELLER_REPLICA_SECRET"');
      const sh = shell(h, creds);
      for (const cmd of [info.setup_command, info.link_command, 'orderlink sync']) {
        const r = await sh(cmd);
        expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
      }
      expect(await ordersOf(h)).toHaveLength(12);
    } finally {
      const r = await stop(s);
      expect(r.stderr).not.toMatch(/stopped/); // --json: nothing but the object
    }
  });

  it('--faults are the replica\'s own: drain=searchOrders starts that bucket empty (429 QuotaExceeded), access-ttl shortens tokens', async () => {
    const h = e2eHome();
    homes.push(h);
    const s = await serve(['--json', '--provider', 'amazon-seller', '--faults', 'drain=searchOrders,access-ttl=42'], h.env);
    try {
      const info = JSON.parse(s.stdout) as { token_url: string; refresh_token_url: string; client_id: string; client_secret: string };
      const rt = await (await fetch(info.refresh_token_url, { method: 'POST' })).text();
      const tok = (await (await fetch(info.token_url, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt, client_id: info.client_id, client_secret: info.client_secret }) })).json()) as { access_token: string; expires_in: number };
      expect(tok.expires_in).toBe(42);
      const headers = { 'x-amz-access-token': tok.access_token };
      const search = await fetch(`${s.url}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&marketplaceIds=ATVPDKIKX0DER`, { headers });
      expect(search.status).toBe(429);
      expect(await search.text()).toContain('QuotaExceeded');
      expect((await fetch(`${s.url}/orders/v0/orders?CreatedAfter=2020-01-01T00:00:00Z&MarketplaceIds=ATVPDKIKX0DER`, { headers })).status).toBe(200); // only the drained operation
    } finally {
      await stop(s);
    }
  });

  it('a wrong --faults or --rate-plan is a usage error naming what is accepted (exit 2, nothing started)', async () => {
    const bad = await runCli(['sandbox', 'serve', '--provider', 'amazon-seller', '--faults', 'rate429=5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown Amazon seller fault "rate429=5"');
    expect(bad.stderr).toMatch(/access-ttl=SECONDS.*drain=OPERATION.*searchOrders, getOrders, getOrderItems/s);
    expect(bad.stdout).toBe('');
    const plan = await runCli(['sandbox', 'serve', '--provider', 'amazon-seller', '--rate-plan', 'listOrders=1:1']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/invalid usage plan "listOrders=1:1"[\s\S]*OPERATION=RATE:BURST/);
  });
});

describe('sandbox serve --provider shopify', () => {
  const homes: E2EHome[] = [];
  afterAll(() => homes.forEach((h) => h.cleanup()));

  it('prints the shop URL, then a no-browser link command; sync brings that customer\'s orders; Ctrl-C stops it', async () => {
    const h = e2eHome();
    homes.push(h);
    const s = await serve(['--provider', 'shopify', '--orders', '15', '--accounts', '2'], h.env);
    try {
      expect(s.stdout).toBe(`${s.url}\n`);
      const client = /client id {3}(shp_[0-9a-f-]{36}) /.exec(s.stderr)![1]!;
      const cmds = printedCommands(s.stderr);
      expect(cmds).toEqual([
        `curl -fsS -X POST '${s.url}/__replica/refresh-token?customer=alice' | orderlink link shopify --shop ${s.url} --client-id ${client} --refresh-token-stdin`,
        'orderlink sync && orderlink orders',
        `orderlink link shopify --shop ${s.url} --client-id ${client} --login-hint alice`,
      ]);
      const sh = shell(h);
      for (const cmd of cmds.slice(0, 2)) {
        const r = await sh(cmd);
        expect(r.code, `${cmd}\n${r.stderr}`).toBe(0);
        expect(r.stdout + r.stderr).not.toMatch(/shcrt_|shcat_/);
      }
      const orders = await ordersOf(h);
      expect(orders).toHaveLength(15);
      expect(orders.every((o) => o.connection === 'shopify:default' && o.retailer === 'Replica Coffee Co.' && o.order_id.startsWith('gid://shopify/Order/'))).toBe(true);
      // The other printed way, as a person links a real shop: open the sign-in URL, paste where the browser landed.
      const h2 = e2eHome();
      homes.push(h2);
      let landed = '';
      const paste = await shell(h2)(cmds[2]!, (err) => {
        const m = /(http:\/\/127\.0\.0\.1:\d+\/authentication\/\S+)/.exec(err);
        return m ? fetch(m[1]!, { redirect: 'manual' }).then((res) => (landed = res.headers.get('location') ?? '')) : null;
      });
      expect(paste.code, paste.stderr).toBe(0);
      expect(landed).toMatch(/^https:\/\/orderlink\.invalid\/callback\/shopify\?code=/);
      expect(paste.stderr).toMatch(/Linked shopify:default \(Alice\)/);
      // Only the shop's customers get a token: an unknown one is a 400 (curl -f fails, nothing reaches link).
      const nobody = await sh(`curl -fsS -X POST '${s.url}/__replica/refresh-token?customer=nobody'`);
      expect(nobody.code).not.toBe(0);
    } finally {
      const r = await stop(s);
      expect(r.stderr).toMatch(/Shopify replica stopped\n$/);
    }
  });

  it('a wrong --faults is a usage error listing the Shopify faults; --rate-plan belongs to amazon-seller', async () => {
    const bad = await runCli(['sandbox', 'serve', '--provider', 'shopify', '--faults', 'throttle=2:1,latency=5ms']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown Shopify fault "latency=5ms"');
    expect(bad.stderr).toMatch(/rpm=N.*throttle=N\[:SECONDS\].*access-ttl=SECONDS/s);
    const plan = await runCli(['sandbox', 'serve', '--provider', 'shopify', '--rate-plan', 'searchOrders=1:1']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/--rate-plan is for --provider amazon-seller/);
    // A port in use is the caller's to change (exit 2), for both replicas, as for the sandbox.
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = String((busy.address() as AddressInfo).port);
    try {
      for (const p of ['shopify', 'amazon-seller']) {
        const taken = await runCli(['sandbox', 'serve', '--provider', p, '--port', port]);
        expect(taken.code, taken.stderr).toBe(2);
        expect(taken.stderr).toContain(`port ${port} is in use`);
      }
    } finally {
      busy.close();
    }
    const provider = await runCli(['sandbox', 'serve', '--provider', 'ebay']);
    expect(provider.code).toBe(2);
    expect(provider.stderr).toMatch(/sandbox, plaid, knot, amazon-seller or shopify/);
  });
});
