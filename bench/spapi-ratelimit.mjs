#!/usr/bin/env node
/**
 * Pacing against a rate-limited SP-API replica (rate R requests/s, burst B) synced with N pages
 * through the real binary: wall time against the ideal (N − B) / R, and the count of 429s.
 * Figures, not assertions (docs/performance.md, "SP-API pacing").
 *
 *   npm run build && node bench/spapi-ratelimit.mjs            # N=60 B=20 R=5 (about 30 s)
 *   node bench/spapi-ratelimit.mjs --n 120 --burst 20 --rate 10
 *
 * Three runs: (1) a fresh provider bucket with the plan given to orderlink (ORDERLINK_RATE_PLAN);
 * (2) the same, right after (1), when the provider's bucket is empty but orderlink's is full —
 * the case that costs one 429; (3) orderlink told only the documented plan (searchOrders
 * 0.0056/s), corrected by the replica's x-amzn-RateLimit-Limit header after the first answer.
 * Everything runs on 127.0.0.1 in temporary directories, deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'orderlink');
const { startSpApiReplica } = await import(join(ROOT, 'dist', 'sandbox', 'replicas', 'amazon-seller.js'));

const arg = (name, d) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : d);
const N = arg('n', 60);
const B = arg('burst', 20);
const R = arg('rate', 5);
const PAGE = 5;

function cli(home, env, args, stdin) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, '--home', home, ...args], { env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err, ms: Date.now() - started }));
    child.stdin.end(stdin ?? '');
  });
}

async function scenario(name, { override, drainFirst, reuse }) {
  const r = reuse?.r ?? (await startSpApiReplica({ orders: N * PAGE, settleMs: 0, plans: { searchOrders: { rate: R, burst: B } } }));
  const home = reuse?.home ?? mkdtempSync(join(tmpdir(), 'orderlink-bench-spapi-'));
  const env = { ORDERLINK_VAULT_KEY: randomBytes(32).toString('base64'), ...(override ? { ORDERLINK_RATE_PLAN: `searchOrders=${R}:${B}` } : {}) };
  if (reuse) Object.assign(env, reuse.env);
  if (!reuse) {
    const s = await cli(home, env, ['connector', 'setup', 'amazon-seller', '--region', 'na', '--base-url', r.url, '--token-url', r.tokenUrl, '--credentials-stdin'], `${r.clientId}\n${r.clientSecret}\n`);
    if (s.code !== 0) throw new Error(`setup: ${s.err}`);
    const l = await cli(home, env, ['link', 'amazon-seller', '--refresh-token-stdin', '--marketplace', r.marketplace], r.mintRefreshToken());
    if (l.code !== 0) throw new Error(`link: ${l.err}`);
  }
  if (drainFirst) r.drain('searchOrders');
  const before = r.stats();
  const res = await cli(home, env, ['--json', 'sync', '--full', '--page-size', String(PAGE)]);
  if (res.code !== 0) throw new Error(`sync: ${res.err}${res.out}`);
  const c = JSON.parse(res.out).connections[0];
  const after = r.stats();
  const throttled = after.throttled.searchOrders - before.throttled.searchOrders;
  const startTokens = drainFirst ? 0 : B;
  const ideal = (Math.max(0, N - startTokens) / R) * 1000;
  const row = { scenario: name, pages: c.pages, requests: after.requests.searchOrders - before.requests.searchOrders, '429s': throttled, reported_429s: c.throttled, waited_ms: c.rate_limit_wait_ms, sync_ms: c.duration_ms, process_ms: res.ms, ideal_ms: Math.round(ideal), ratio: +(c.duration_ms / ideal).toFixed(3) };
  return { row, r, home, env };
}

const rows = [];
const a = await scenario(`fresh bucket, plan ${R}/s burst ${B}`, { override: true });
rows.push(a.row);
const b = await scenario('provider bucket empty (run right after)', { override: true, drainFirst: true, reuse: a });
rows.push(b.row);
await a.r.close();
rmSync(a.home, { recursive: true, force: true });
const c = await scenario('documented plan 0.0056/s, header-corrected', { override: false });
rows.push(c.row);
await c.r.close();
rmSync(c.home, { recursive: true, force: true });

console.log(`SP-API pacing: N=${N} pages of ${PAGE}, provider plan ${R}/s burst ${B}; ideal = (N − tokens at start) / R`);
console.table(rows);
