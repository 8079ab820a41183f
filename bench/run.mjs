#!/usr/bin/env node
/**
 * `npm run bench`: figures, not assertions. Every figure is printed beside a baseline measured in
 * the same run on the same machine, because these machines are shared and noisy: read the
 * medians and the ratios, not the absolute times. Nothing here fails on a slow machine.
 *
 *   node bench/run.mjs                 all five (about 4 minutes, 1M-order parts included)
 *   node bench/run.mjs --quick         smaller sizes (about a minute)
 *   node bench/run.mjs --only sync,start
 *
 * Everything runs on 127.0.0.1 in temporary directories, which are deleted afterwards; no data
 * this makes is ever kept in the repository.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'orderlink');
const RSS_HOOK = join(ROOT, 'bench', 'rss-hook.mjs');
const BASELINE = join(ROOT, 'bench', 'baseline-sync.mjs');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1].split(',')) : null;
const want = (name) => !only || only.has(name);
const SYNC_N = QUICK ? 20_000 : 100_000;
const BIG_N = QUICK ? 200_000 : 1_000_000;
const PAGE = 500;
const temps = [];
const temp = (p) => {
  const d = mkdtempSync(join(tmpdir(), `orderlink-bench-${p}-`));
  temps.push(d);
  return d;
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (n) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(1)} ms`);
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
const rows = [];
const row = (bench, figure, baseline, ratio, goal) => {
  rows.push({ bench, figure, baseline, ratio, goal });
  console.error(`  ${bench}: ${figure}${baseline ? ` (baseline ${baseline}` + (ratio ? `, ${ratio}` : '') + ')' : ''}`);
};

/** Run a command; resolve with wall time, output and (with the hook) the child's peak RSS in KB. */
function run(cmd, argv, { env = {}, rss = false, stdin } = {}) {
  return new Promise((resolve, reject) => {
    const rssFile = rss ? join(temp('rss'), 'rss') : null;
    const fullArgv = rss ? ['--import', RSS_HOOK, ...argv] : argv;
    const started = process.hrtime.bigint();
    const child = spawn(cmd, fullArgv, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env, ...(rssFile ? { BENCH_RSS_FILE: rssFile } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e6;
      const peak = rssFile && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : null;
      resolve({ code, stdout, stderr, wall, rss: peak });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** A sandbox in its own process, so it does not share a thread with what we measure. */
async function sandbox(orders) {
  const child = spawn(process.execPath, [BIN, 'sandbox', 'serve', '--orders', String(orders), '--accounts', '1', '--json'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const issuer = await new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      buf += d;
      try {
        resolve(JSON.parse(buf).issuer);
      } catch {
        /* not complete yet */
      }
    });
    child.on('exit', (c) => reject(new Error(`sandbox exited ${c}: ${err.slice(0, 300)}`)));
  });
  const admin = async (path, body) => {
    const res = await fetch(`${issuer}/__sandbox/${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
    return res.json();
  };
  return {
    issuer,
    admin,
    mint: async () => (await admin('mint', { account: 'alice' })).refresh_token,
    stats: () => admin('stats'),
    close: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))),
  };
}

async function linkedHome(sb) {
  const home = temp('home');
  const env = { ORDERLINK_HOME: home, ORDERLINK_VAULT_KEY: randomBytes(32).toString('base64'), BENCH_RT: await sb.mint() };
  const r = await run(process.execPath, [BIN, 'link', 'sandbox', '--base-url', sb.issuer, '--refresh-token-env', 'BENCH_RT'], { env });
  if (r.code !== 0) throw new Error(`link failed: ${r.stderr}`);
  return { home, env };
}

async function benchSync() {
  console.error(`\n1-2. full sync of ${SYNC_N.toLocaleString()} orders vs a raw fetch+insert baseline; then a no-op sync`);
  const sb = await sandbox(SYNC_N);
  try {
    const fulls = [];
    const bases = [];
    let last;
    const reps = QUICK ? 2 : 3;
    for (let i = 0; i < reps; i++) {
      // Alternate, so drift on a shared machine hits both sides alike.
      const b = await run(process.execPath, [BASELINE, sb.issuer, await sb.mint(), join(temp('base'), 'raw.db'), String(PAGE)]);
      if (b.code !== 0) throw new Error(`baseline failed: ${b.stderr}`);
      bases.push(b.wall);
      const { env } = await linkedHome(sb);
      const s = await run(process.execPath, [BIN, 'sync', '--page-size', String(PAGE), '--json'], { env, rss: true });
      if (s.code !== 0) throw new Error(`sync failed (${s.code}): ${s.stderr.slice(0, 400)}`);
      fulls.push(s.wall);
      last = { env, report: JSON.parse(s.stdout), rss: s.rss };
    }
    const f = median(fulls);
    const b = median(bases);
    row('full sync', `${ms(f)} (${Math.round(SYNC_N / (f / 1000)).toLocaleString()} orders/s)`, ms(b), `${(f / b).toFixed(2)}×`, '≤ 1.5×');
    const before = await sb.stats();
    const noop = await run(process.execPath, [BIN, 'sync', '--json'], { env: last.env });
    const after = await sb.stats();
    // Every request the sync made (the stats call itself is an admin request: not counted).
    const routes = Object.keys(after.requests).filter((k) => !k.startsWith('admin.'));
    const calls = routes.reduce((n, k) => n + after.requests[k] - (before.requests[k] ?? 0), 0);
    const what = routes.filter((k) => after.requests[k] !== (before.requests[k] ?? 0)).map((k) => `${k} ${after.requests[k] - (before.requests[k] ?? 0)}`).join(', ');
    const report = JSON.parse(noop.stdout).connections[0];
    row('no-op sync', `${calls} request${calls === 1 ? '' : 's'} (${what}), ${report.added} added, ${ms(noop.wall)} wall`, null, null, '1 request per connection');
    return last.rss;
  } finally {
    await sb.close();
  }
}

async function benchRss(rss100k) {
  console.error(`\n5. peak RSS of a full sync: ${SYNC_N.toLocaleString()} vs ${BIG_N.toLocaleString()} orders`);
  const sb = await sandbox(BIG_N);
  try {
    const { env } = await linkedHome(sb);
    const s = await run(process.execPath, [BIN, 'sync', '--page-size', String(PAGE), '--json'], { env, rss: true });
    if (s.code !== 0) throw new Error(`sync failed: ${s.stderr.slice(0, 400)}`);
    const bare = await run(process.execPath, ['-e', '0'], { rss: true });
    row(`peak RSS ${SYNC_N / 1000}k`, mb(rss100k), `${mb(bare.rss)} bare node`, null, '≤ 200 MB');
    row(`peak RSS ${BIG_N / 1000}k`, `${mb(s.rss)} (${ms(s.wall)})`, `${mb(rss100k)} at ${SYNC_N / 1000}k`, `${(s.rss / rss100k).toFixed(2)}×`, 'flat, ≤ 200 MB');
  } finally {
    await sb.close();
  }
}

async function benchQueries() {
  console.error(`\n3. orders queries on a ${BIG_N.toLocaleString()}-order database (in-process)`);
  const { Store } = await import('../dist/store/index.js');
  const { profilePaths, ensureProfileDirs } = await import('../dist/paths.js');
  const { createContext } = await import('../dist/context.js');
  const { captureIO } = await import('../dist/ui/io.js');
  const { ITEMS, RETAILERS } = await import('../dist/sandbox/catalog.js');
  const home = temp('q');
  const paths = profilePaths(home, 'default');
  ensureProfileDirs(paths);
  const store = Store.open(paths.db, 'default');
  const conn = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'bench', providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null }, new Date());
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const cats = Object.keys(ITEMS);
  const statuses = ['delivered', 'delivered', 'delivered', 'shipped', 'refunded', 'cancelled'];
  const t0 = Date.now();
  const writer = store.orderWriter();
  const epoch = Date.UTC(2026, 10, 1);
  for (let p = 0; p < BIG_N / 1000; p++) {
    const orders = [];
    for (let i = 0; i < 1000; i++) {
      const n = p * 1000 + i;
      const r = RETAILERS[Math.floor(rnd() * RETAILERS.length)];
      const cat = r.categories[Math.floor(rnd() * r.categories.length)] ?? cats[0];
      const pool = ITEMS[cat] ?? ITEMS[cats[0]];
      const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, k) => {
        const [name, price] = pool[Math.floor(rnd() * pool.length)];
        return { lineNo: k + 1, name, sku: `SKU-${k}`, unitPrice: price, quantity: 1 + Math.floor(rnd() * 2), category: cat };
      });
      const subtotal = items.reduce((s, it) => s + it.unitPrice * it.quantity, 0);
      orders.push({
        orderId: `B-${n}`, retailer: r.name, orderDate: new Date(epoch - Math.floor(rnd() * 3 * 365 * 86400e3)).toISOString(),
        status: statuses[Math.floor(rnd() * statuses.length)], currency: r.currency, subtotal, tax: 0, shipping: 0, discount: 0,
        total: subtotal, refunded: 0, providerUpdatedAt: null, items,
      });
    }
    writer.commitPage({ connectionId: conn.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: new Date().toISOString() });
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.exec('ANALYZE');
  store.close();
  console.error(`  (built in ${ms(Date.now() - t0)})`);
  const { runOrders, runOrdersStats } = await import('../dist/commands/orders.js');
  const io = captureIO({ tty: false });
  const ctx = createContext(io, { home, profile: 'default', json: false, verbose: false }, { env: {} });
  const cases = [
    ['list, newest 50', () => runOrders(ctx, { limit: 50 })],
    ['filter retailer+since+min', () => runOrders(ctx, { retailer: 'Target', since: '180d', min: 20, limit: 50 })],
    ['search "coffee"', () => runOrders(ctx, { search: 'coffee', limit: 50 })],
    ['stats by month', () => runOrdersStats(ctx, { by: 'month', since: '365d' })],
    ['stats by retailer (all time)', () => runOrdersStats(ctx, { by: 'retailer' })],
  ];
  for (const [name, fn] of cases) {
    const times = [];
    for (let i = 0; i < 25; i++) {
      const s = process.hrtime.bigint();
      await fn();
      times.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    row(`orders: ${name}`, `p50 ${ms(median(times))}, p95 ${ms(pct(times, 95))}`, null, null, 'p50 ≤ 50 ms');
  }
  ctx.close();
}

async function benchStart() {
  console.error('\n4. cold start vs bare node (median of 15, alternating)');
  const home = temp('start');
  const env = { ORDERLINK_HOME: home };
  await run(process.execPath, [BIN, 'orders', '--limit', '20'], { env }); // creates the empty database once
  const t = { node: [], help: [], orders: [] };
  for (let i = 0; i < 15; i++) {
    t.node.push((await run(process.execPath, ['-e', '0'])).wall);
    t.help.push((await run(process.execPath, [BIN, '--help'])).wall);
    t.orders.push((await run(process.execPath, [BIN, 'orders', '--limit', '20'], { env })).wall);
  }
  const base = median(t.node);
  row('start: orderlink --help', ms(median(t.help)), `${ms(base)} node -e 0`, `${(median(t.help) / base).toFixed(2)}×`, '≤ 2×');
  row('start: orders --limit 20', ms(median(t.orders)), `${ms(base)} node -e 0`, `${(median(t.orders) / base).toFixed(2)}×`, '≤ 2×');
}

try {
  console.error(`orderlink bench — node ${process.version}, ${cpus().length} cores${QUICK ? ', --quick sizes' : ''}`);
  let rss;
  if (want('sync') || want('rss')) rss = await benchSync();
  if (want('rss')) await benchRss(rss);
  if (want('queries')) await benchQueries();
  if (want('start')) await benchStart();
  const w = (k) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? '').length));
  const cols = ['bench', 'figure', 'baseline', 'ratio', 'goal'];
  const line = (r) => cols.map((k) => String(r[k] ?? '—').padEnd(w(k))).join('  ');
  console.log('\n' + line(Object.fromEntries(cols.map((c) => [c, c]))));
  for (const r of rows) console.log(line(r));
  writeFileSync(join(tmpdir(), 'orderlink-bench-last.json'), JSON.stringify({ node: process.version, quick: QUICK, rows }, null, 2));
} finally {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
}
