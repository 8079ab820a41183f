#!/usr/bin/env node
/**
 * `npm run bench`: figures, not assertions. Every figure is printed beside a baseline measured in
 * the same run on the same machine, because these machines are shared and noisy: read the
 * medians and the ratios, not the absolute times. Nothing here fails on a slow machine.
 *
 *   node bench/run.mjs                 everything (about 15 minutes, 1M-order parts included)
 *   node bench/run.mjs --quick         smaller sizes (a few minutes)
 *   node bench/run.mjs --only sync,rss,queries,export,stats,start
 *   node bench/run.mjs --only sync --reps 5 --before /path/to/older/bin/orderlink
 *   node bench/run.mjs --only start --node /path/to/node24 --bin /path/to/bin/orderlink
 *       start-up under another Node: --node runs the children (node -e 0 included) with that
 *       binary; --bin points at a copy of the package whose better-sqlite3 was built for it.
 *
 * Everything runs on 127.0.0.1 in temporary directories, which are deleted afterwards; no data
 * this makes is ever kept in the repository.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, cpSync, openSync, closeSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args0 = process.argv.slice(2);
const opt = (name) => (args0.includes(name) ? args0[args0.indexOf(name) + 1] : undefined);
const BIN = opt('--bin') ?? join(ROOT, 'bin', 'orderlink');
/** An earlier build's launcher, timed beside this one in the sync bench (--before DIR/bin/orderlink). */
const BEFORE = opt('--before');
/** The Node that runs the measured children (default: this one). */
const NODE = opt('--node') ?? process.execPath;
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
function run(cmd, argv, { env = {}, rss = false, stdin, discard = false } = {}) {
  return new Promise((resolve, reject) => {
    const rssFile = rss ? join(temp('rss'), 'rss') : null;
    const fullArgv = rss ? ['--import', RSS_HOOK, ...argv] : argv;
    const started = process.hrtime.bigint();
    // discard: stdout goes straight to /dev/null (a big export, not read through this process).
    const devnull = discard ? openSync('/dev/null', 'w') : null;
    const child = spawn(cmd, fullArgv, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env, ...(rssFile ? { BENCH_RSS_FILE: rssFile } : {}) },
      stdio: ['pipe', devnull ?? 'pipe', 'pipe'],
    });
    if (devnull !== null) closeSync(devnull);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
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

/** A fresh home linked to the sandbox by `bin` (the build that will sync it: a newer one migrates the schema past an older one's reach). */
async function linkedHome(sb, bin = BIN) {
  const home = temp('home');
  const env = { ORDERLINK_HOME: home, ORDERLINK_VAULT_KEY: randomBytes(32).toString('base64'), BENCH_RT: await sb.mint() };
  const r = await run(process.execPath, [bin, 'link', 'sandbox', '--base-url', sb.issuer, '--refresh-token-env', 'BENCH_RT'], { env });
  if (r.code !== 0) throw new Error(`link failed: ${r.stderr}`);
  return { home, env };
}

async function benchSync() {
  console.error(`\n1-2. full sync of ${SYNC_N.toLocaleString()} orders vs a raw fetch+insert baseline; then a no-op sync`);
  const sb = await sandbox(SYNC_N);
  try {
    const fulls = [];
    const bases = [];
    const befores = [];
    let last;
    const reps = Number(opt('--reps') ?? (QUICK ? 2 : 3));
    for (let i = 0; i < reps; i++) {
      if (BEFORE) {
        // The same sync by an earlier build (--before BIN), in the same alternation.
        const { env } = await linkedHome(sb, BEFORE);
        const s = await run(process.execPath, [BEFORE, 'sync', '--page-size', String(PAGE), '--json'], { env });
        if (s.code !== 0) throw new Error(`sync (before) failed (${s.code}): ${s.stderr.slice(0, 400)}`);
        befores.push(s.wall);
      }
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
    row('full sync', `${ms(f)} (${Math.round(SYNC_N / (f / 1000)).toLocaleString()} orders/s; runs ${fulls.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(b)} (runs ${bases.map((x) => Math.round(x)).join(', ')} ms)`, `${(f / b).toFixed(2)}×`, '≤ 1.5×');
    if (BEFORE) row('full sync, --before build', `${ms(median(befores))} (runs ${befores.map((x) => Math.round(x)).join(', ')} ms)`, ms(b), `${(median(befores) / b).toFixed(2)}×`, '—');
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

/** The BIG_N-order database the read benches share, built once through the page writer; a pristine copy is kept to start each cold run from. */
let bigDb;
async function bigDatabase() {
  if (bigDb) return bigDb;
  const { buildDb } = await import('./gen-db.mjs');
  const home = temp('big');
  const t0 = Date.now();
  const db = await buildDb(home, BIG_N);
  console.error(`  (${BIG_N.toLocaleString()}-order database built in ${ms(Date.now() - t0)})`);
  const pristine = join(temp('pristine'), 'orderlink.db');
  cpSync(db, pristine);
  return (bigDb = { home, db, pristine });
}

/** A fresh home holding a copy of the pristine big database: its rollups as a sync leaves them. */
async function freshHome(big) {
  const { profilePaths, ensureProfileDirs } = await import('../dist/paths.js');
  const home = temp('fresh');
  const paths = profilePaths(home, 'default');
  ensureProfileDirs(paths);
  cpSync(big.pristine, paths.db);
  return home;
}

async function benchQueries() {
  console.error(`\n3. orders queries on a ${BIG_N.toLocaleString()}-order database (in-process)`);
  const big = await bigDatabase();
  const { createContext } = await import('../dist/context.js');
  const { captureIO } = await import('../dist/ui/io.js');
  const { runOrders, runOrdersStats } = await import('../dist/commands/orders.js');
  const io = captureIO({ tty: false });
  const ctx = createContext(io, { home: await freshHome(big), profile: 'default', json: false, verbose: false }, { env: {} });
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

/** The columns of `orders --ndjson`, as they are stored, for the sqlite3 baseline. */
const EXPORT_SQL = `SELECT id, connection_id, order_id, retailer, order_date, status, currency, subtotal, tax, shipping, discount, total, refunded, item_count, first_seen_at, updated_at
  FROM orders WHERE deleted_at IS NULL ORDER BY order_date DESC, id DESC`;
/** `orderlink export --format ndjson`'s columns (the amounts also in minor units, deleted_at), in its order. */
const EXPORT_CMD_SQL = `SELECT id, connection_id, order_id, retailer, order_date, status, currency, subtotal, tax, shipping, discount, total, refunded, item_count, first_seen_at, updated_at,
  subtotal AS subtotal_minor, tax AS tax_minor, shipping AS shipping_minor, discount AS discount_minor, refunded AS refunded_minor, deleted_at
  FROM orders WHERE deleted_at IS NULL ORDER BY order_date, id`;

async function benchExport() {
  console.error(`\n6. orders --ndjson and export --format ndjson of ${BIG_N.toLocaleString()} orders vs sqlite3 -json of the same columns (median of 5, alternating)`);
  const probe = await run('sqlite3', ['-version']).catch(() => null);
  if (!probe || probe.code !== 0) return row('export --ndjson', 'skipped: no sqlite3 on PATH', null, null, '≤ 1.5×');
  const big = await bigDatabase();
  const home = await freshHome(big);
  const db = join(home, 'profiles', 'default', 'orderlink.db');
  await run(NODE, [BIN, 'orders', '--limit', '1'], { env: { ORDERLINK_HOME: home } }); // migrations, rollups: not the export's cost
  const t = { ol: [], sq: [], before: [], ex: [], exSq: [], exBefore: [], js: [], jsBefore: [] };
  // The --before build reads a database of its own schema, made by its own gen-db (same seed, same orders).
  let beforeHome;
  if (BEFORE) {
    const { buildDb } = await import(pathToFileURL(join(dirname(dirname(BEFORE)), 'bench', 'gen-db.mjs')).href);
    beforeHome = temp('big-before');
    await buildDb(beforeHome, BIG_N);
    await run(NODE, [BEFORE, 'orders', '--limit', '1'], { env: { ORDERLINK_HOME: beforeHome } });
  }
  for (let i = 0; i < 5; i++) {
    const q = await run('sqlite3', ['-json', db, EXPORT_SQL], { discard: true });
    if (q.code !== 0) throw new Error(`sqlite3 failed: ${q.stderr.slice(0, 200)}`);
    t.sq.push(q.wall);
    if (BEFORE) t.before.push((await run(NODE, [BEFORE, 'orders', '--ndjson'], { env: { ORDERLINK_HOME: beforeHome }, discard: true })).wall);
    const o = await run(NODE, [BIN, 'orders', '--ndjson'], { env: { ORDERLINK_HOME: home }, discard: true });
    if (o.code !== 0) throw new Error(`export failed: ${o.stderr.slice(0, 200)}`);
    t.ol.push(o.wall);
    // `orderlink export --format ndjson` (the export command, its record), beside sqlite3 -json of its columns.
    t.exSq.push((await run('sqlite3', ['-json', db, EXPORT_CMD_SQL], { discard: true })).wall);
    if (BEFORE) t.exBefore.push((await run(NODE, [BEFORE, 'export', '--format', 'ndjson'], { env: { ORDERLINK_HOME: beforeHome }, discard: true })).wall);
    const e = await run(NODE, [BIN, 'export', '--format', 'ndjson'], { env: { ORDERLINK_HOME: home }, discard: true });
    if (e.code !== 0) throw new Error(`export failed: ${e.stderr.slice(0, 200)}`);
    t.ex.push(e.wall);
    // --format json: the same record as one JSON array, laid out two spaces deep (sqlite3 -json writes one array too).
    if (BEFORE) t.jsBefore.push((await run(NODE, [BEFORE, 'export', '--format', 'json'], { env: { ORDERLINK_HOME: beforeHome }, discard: true })).wall);
    const j = await run(NODE, [BIN, 'export', '--format', 'json'], { env: { ORDERLINK_HOME: home }, discard: true });
    if (j.code !== 0) throw new Error(`export failed: ${j.stderr.slice(0, 200)}`);
    t.js.push(j.wall);
  }
  const r = median(t.ol) / median(t.sq);
  row('export --ndjson', `${ms(median(t.ol))} (runs ${t.ol.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(median(t.sq))} sqlite3 -json (runs ${t.sq.map((x) => Math.round(x)).join(', ')} ms)`, `${r.toFixed(2)}×`, '≤ 1.5×');
  if (BEFORE) row('export --ndjson, --before build', `${ms(median(t.before))} (runs ${t.before.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(median(t.sq))} sqlite3 -json`, `${(median(t.before) / median(t.sq)).toFixed(2)}×`, '—');
  row('export --format ndjson', `${ms(median(t.ex))} (runs ${t.ex.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(median(t.exSq))} sqlite3 -json (runs ${t.exSq.map((x) => Math.round(x)).join(', ')} ms)`, `${(median(t.ex) / median(t.exSq)).toFixed(2)}×`, '≤ 1.5×');
  row('export --format json', `${ms(median(t.js))} (runs ${t.js.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(median(t.exSq))} sqlite3 -json`, `${(median(t.js) / median(t.exSq)).toFixed(2)}×`, '≤ 1.5×');
  if (BEFORE) row('export --format json, --before build', `${ms(median(t.jsBefore))} (runs ${t.jsBefore.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(median(t.exSq))} sqlite3 -json`, `${(median(t.jsBefore) / median(t.exSq)).toFixed(2)}×`, '—');
  if (BEFORE) row('export --format ndjson, --before build', `${ms(median(t.exBefore))} (runs ${t.exBefore.map((x) => Math.round(x)).join(', ')} ms)`, `${ms(median(t.exSq))} sqlite3 -json`, `${(median(t.exBefore) / median(t.exSq)).toFixed(2)}×`, '—');
}

async function benchStats() {
  console.error(`\n7. orders stats --by category after a ${BIG_N.toLocaleString()}-order write (3 fresh copies)`);
  const big = await bigDatabase();
  const pass = [];
  const first = [];
  const months = [];
  for (let i = 0; i < 3; i++) {
    const env = { ORDERLINK_HOME: await freshHome(big) };
    // gen-db writes orders the way a sync does and leaves every month stale. A sync's end brings
    // the order totals and the category totals up to date (sync/index.ts); done here by the first
    // reads, each timed: the category one is the pass a 1M first sync now ends with.
    const m = await run(NODE, [BIN, 'orders', 'stats', '--by', 'month'], { env });
    if (m.code !== 0) throw new Error(`stats failed: ${m.stderr.slice(0, 200)}`);
    months.push(m.wall);
    pass.push((await run(NODE, [BIN, 'orders', 'stats', '--by', 'category'], { env })).wall);
    first.push((await run(NODE, [BIN, 'orders', 'stats', '--by', 'category'], { env })).wall);
  }
  row('stats --by category, first after a sync', `${ms(median(first))} (runs ${first.map((x) => Math.round(x)).join(', ')} ms)`, null, null, '≤ 1 s');
  row('category pass (a sync\'s end; lazy before)', `${ms(median(pass))} (runs ${pass.map((x) => Math.round(x)).join(', ')} ms, start-up included)`, null, null, '—');
  row('stats --by month, first', `${ms(median(months))} (order totals refreshed, as a sync's end does)`, null, null, '—');
}

async function benchStart() {
  console.error(`\n4. cold start vs bare node (median of 15, alternating)${NODE !== process.execPath ? ` — children run by ${NODE}` : ''}`);
  const home = temp('start');
  const env = { ORDERLINK_HOME: home };
  const version = (await run(NODE, ['-p', 'process.version'])).stdout.trim();
  await run(NODE, [BIN, 'orders', '--limit', '20'], { env }); // creates the empty database once (and fills a compile cache, Node ≥ 22.1)
  const cases = [
    ['help', [BIN, '--help'], {}],
    ['orders', [BIN, 'orders', '--limit', '20'], { env }],
    ['stats', [BIN, 'orders', 'stats'], { env }],
  ];
  if (BEFORE) {
    // Its own home: a newer build's schema is past an older one's reach (it would time an error).
    const envBefore = { ORDERLINK_HOME: temp('start-before') };
    await run(NODE, [BEFORE, 'orders', '--limit', '20'], { env: envBefore });
    for (const [k, argv, o] of [...cases]) cases.push([`before ${k}`, [BEFORE, ...argv.slice(1)], k === 'help' ? o : { env: envBefore }]);
  }
  const t = { node: [], help: [], orders: [], stats: [], 'before help': [], 'before orders': [], 'before stats': [] };
  for (let i = 0; i < 15; i++) {
    t.node.push((await run(NODE, ['-e', '0'])).wall);
    for (const [k, argv, o] of cases) {
      const r = await run(NODE, argv, o);
      if (r.code !== 0) throw new Error(`${argv.slice(1).join(' ')} failed (${r.code}): ${r.stderr.slice(0, 300)}`);
      t[k].push(r.wall);
    }
  }
  const base = median(t.node);
  const label = { help: 'orderlink --help', orders: 'orders --limit 20', stats: 'orders stats' };
  for (const k of ['help', 'orders', 'stats']) {
    row(`start (${version}): ${label[k]}`, ms(median(t[k])), `${ms(base)} node -e 0`, `${(median(t[k]) / base).toFixed(2)}×`, '≤ 1.5×');
    if (BEFORE) row(`start (${version}), --before build: ${label[k]}`, ms(median(t[`before ${k}`])), `${ms(base)} node -e 0`, `${(median(t[`before ${k}`]) / base).toFixed(2)}×`, '—');
  }
}

try {
  console.error(`orderlink bench — node ${process.version}, ${cpus().length} cores${QUICK ? ', --quick sizes' : ''}`);
  let rss;
  if (want('sync') || want('rss')) rss = await benchSync();
  if (want('rss')) await benchRss(rss);
  if (want('queries')) await benchQueries();
  if (want('export')) await benchExport();
  if (want('stats')) await benchStats();
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
