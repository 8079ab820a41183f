// Plaid sync benchmark (figures, not assertions; not in CI): a full `orderlink sync` of N
// transactions (default 100,000) from the Plaid replica, against a raw baseline in the same run —
// the same /transactions/sync pages (count 500) fetched with undici and inserted as raw JSON rows
// with plain better-sqlite3, one transaction per page. Alternating runs; medians and the ratio.
//   npm run build && node bench/plaid-sync.mjs [--transactions N] [--runs R]
// The baseline is this same file run as a child: node bench/plaid-sync.mjs --baseline DB
// (URL, client id, secret and access token come through the environment, never argv).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/orderlink', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : d;
};

if (process.argv[2] === '--baseline') {
  const { fetch } = await import('undici');
  const { default: Database } = await import('better-sqlite3');
  const { PB_URL, PB_CLIENT_ID, PB_SECRET, PB_ACCESS_TOKEN } = process.env;
  // --baseline none: fetch only (the floor: the replica's and HTTP's own time, no database at all).
  const fetchOnly = process.argv[3] === 'none';
  const db = new Database(fetchOnly ? ':memory:' : process.argv[3]);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE raw (id TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT');
  const ins = db.prepare('INSERT INTO raw (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body');
  const del = db.prepare('DELETE FROM raw WHERE id = ?');
  const page = db.transaction((b) => {
    for (const t of [...b.added, ...b.modified]) ins.run(t.transaction_id, JSON.stringify(t));
    for (const r of b.removed) del.run(r.transaction_id);
  });
  let cursor;
  let n = 0;
  for (;;) {
    const res = await fetch(`${PB_URL}/transactions/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'plaid-version': '2020-09-14' },
      body: JSON.stringify({ client_id: PB_CLIENT_ID, secret: PB_SECRET, access_token: PB_ACCESS_TOKEN, count: 500, ...(cursor ? { cursor } : {}) }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    if (!fetchOnly) page(body);
    n += body.added.length + body.modified.length;
    if (!body.has_more) break;
    cursor = body.next_cursor;
  }
  db.close();
  process.stdout.write(`${n}\n`);
  process.exit(0);
}

const N = Number(arg('--transactions', '100000'));
const RUNS = Number(arg('--runs', '3'));
const { startPlaidReplica } = await import('../dist/sandbox/replicas/plaid.js');

function run(argv, env, stdin) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${argv.slice(1).join(' ')} exited ${code}: ${err.slice(0, 500)}`));
      else resolve({ ms, out });
    });
    child.stdin.end(stdin ?? '');
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const replica = await startPlaidReplica({ transactions: N, pending: 3, seed: 42, notReadyPolls: 0 });
const vaultKey = randomBytes(32).toString('base64');
const dirs = [];
try {
  const ours = [];
  const base = [];
  const floor = [];
  console.error(`Plaid sync of ${N.toLocaleString('en-US')} transactions, pages of 500, ${RUNS} alternating runs (Node ${process.versions.node})`);
  for (let i = 0; i < RUNS; i++) {
    // orderlink: a fresh home and a fresh Item each run (setup and link are not timed).
    const home = mkdtempSync(join(tmpdir(), 'orderlink-plaid-bench-'));
    dirs.push(home);
    const env = { ORDERLINK_VAULT_KEY: vaultKey };
    await run([BIN, '--home', home, 'connector', 'setup', 'plaid', '--env', 'sandbox', '--base-url', replica.url, '--credentials-stdin'], env, `${replica.clientId}\n${replica.secret}\n`);
    await run([BIN, '--home', home, 'link', 'plaid', '--sandbox'], env);
    const item = replica.items().at(-1);
    const o = await run([BIN, '--home', home, '--json', 'sync', '--page-size', '500'], env);
    const fetched = JSON.parse(o.out).connections?.[0]?.fetched ?? JSON.parse(o.out)[0]?.fetched;
    ours.push(o.ms);
    // Baseline: the same Item's pages, raw inserts.
    const db = join(home, 'baseline.db');
    const b = await run([SELF, '--baseline', db], { PB_URL: replica.url, PB_CLIENT_ID: replica.clientId, PB_SECRET: replica.secret, PB_ACCESS_TOKEN: item.accessToken });
    base.push(b.ms);
    const f = await run([SELF, '--baseline', 'none'], { PB_URL: replica.url, PB_CLIENT_ID: replica.clientId, PB_SECRET: replica.secret, PB_ACCESS_TOKEN: item.accessToken });
    floor.push(f.ms);
    console.error(`  run ${i + 1}: orderlink ${(o.ms / 1000).toFixed(2)} s (${fetched ?? '?'} records), baseline ${(b.ms / 1000).toFixed(2)} s (${b.out.trim()} rows), fetch only ${(f.ms / 1000).toFixed(2)} s`);
  }
  const m = median(ours);
  const mb = median(base);
  const mf = median(floor);
  console.error(`\nmedian: orderlink ${(m / 1000).toFixed(2)} s (${Math.round(N / (m / 1000)).toLocaleString('en-US')} transactions/s), baseline ${(mb / 1000).toFixed(2)} s; ratio ${(m / mb).toFixed(2)}× (goal ≤ 1.5×)`);
  console.error(`fetch only (no database): ${(mf / 1000).toFixed(2)} s — above that floor orderlink spends ${((m - mf) / 1000).toFixed(2)} s, the raw baseline ${((mb - mf) / 1000).toFixed(2)} s`);
  process.stdout.write(`${JSON.stringify({ transactions: N, runs: RUNS, orderlink_ms: ours, baseline_ms: base, fetch_only_ms: floor, median_ms: m, baseline_median_ms: mb, fetch_only_median_ms: mf, ratio: Number((m / mb).toFixed(2)) })}\n`);
} finally {
  await replica.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
