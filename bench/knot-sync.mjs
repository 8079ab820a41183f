#!/usr/bin/env node
/**
 * Knot sync figure, not an assertion (not in CI): `orderlink sync` of 50,000 Knot transactions
 * from the replica (src/sandbox/replicas/knot.ts, in this process on 127.0.0.1) against a raw
 * fetch+insert baseline measured in the same run: the same /transactions/sync pages with Basic
 * auth (undici), each raw transaction inserted as JSON, one SQLite transaction per page — no
 * allow-list, validation, mapping, items or cursor bookkeeping. Medians of N runs and the ratio.
 *
 *   npm run build && node bench/knot-sync.mjs [--n 50000] [--reps 3] [--page 100]
 *
 * Temporary homes and databases are deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'orderlink');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);

if (args[0] === '--baseline') {
  // Child mode: the raw baseline. node bench/knot-sync.mjs --baseline URL CLIENT SECRET USER MERCHANT DB PAGE
  const [, url, client, secret, user, merchant, dbPath, page] = args;
  const { fetch } = await import('undici');
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE raw (id TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT');
  const ins = db.prepare('INSERT INTO raw (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body');
  const commit = db.transaction((txs) => {
    for (const t of txs) ins.run(String(t.id), JSON.stringify(t));
  });
  const auth = `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`;
  let cursor = null;
  let n = 0;
  for (;;) {
    const res = await fetch(`${url}/transactions/sync`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ merchant_id: Number(merchant), external_user_id: user, cursor, limit: Number(page) }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    commit(body.transactions);
    n += body.transactions.length;
    if (body.next_cursor === null) break;
    cursor = body.next_cursor;
  }
  db.close();
  process.stdout.write(`${n}\n`);
  process.exit(0);
}

const N = opt('--n', 50_000);
const REPS = opt('--reps', 3);
const PAGE = opt('--page', 100);
const CLIENT = 'bench-client';
const SECRET = `bench-secret-${randomBytes(8).toString('hex')}`;
const temps = [];
const temp = (p) => {
  const d = mkdtempSync(join(tmpdir(), `orderlink-knot-bench-${p}-`));
  temps.push(d);
  return d;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;

function run(argv, { env = {}, stdin = '' } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, wall: Number(process.hrtime.bigint() - started) / 1e6 }));
    child.stdin.end(stdin);
  });
}

const { startKnotReplica } = await import(join(ROOT, 'dist', 'sandbox', 'replicas', 'knot.js'));
const replica = await startKnotReplica({ transactions: N, clientId: CLIENT, secret: SECRET, seed: 42 });
console.error(`Knot sync of ${N.toLocaleString()} transactions, pages of ${PAGE}, ${REPS} runs each (replica ${replica.url})`);
try {
  const syncs = [];
  const bases = [];
  for (let i = 0; i < REPS; i++) {
    // Baseline: an account of the same size linked directly at the replica.
    const user = `bench-baseline-${i}`;
    await fetch(`${replica.url}/development/accounts/link`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT}:${SECRET}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ external_user_id: user, merchant_id: 45, transactions: { new: true, updated: false } }),
    });
    const b = await run([fileURLToPath(import.meta.url), '--baseline', replica.url, CLIENT, SECRET, user, '45', join(temp('base'), 'raw.db'), String(PAGE)]);
    if (b.code !== 0 || Number(b.stdout) !== N) throw new Error(`baseline failed: ${b.stderr.slice(0, 400)}`);
    bases.push(b.wall);

    const env = { ORDERLINK_HOME: temp('home'), ORDERLINK_VAULT_KEY: randomBytes(32).toString('base64') };
    const setup = await run([BIN, 'connector', 'setup', 'knot', '--env', 'development', '--base-url', replica.url, '--credentials-stdin'], { env, stdin: `${CLIENT}\n${SECRET}\n` });
    if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}`);
    const link = await run([BIN, 'link', 'knot', '--merchant', 'walmart', '--sandbox'], { env });
    if (link.code !== 0) throw new Error(`link failed: ${link.stderr}`);
    const s = await run([BIN, 'sync', '--page-size', String(PAGE), '--json'], { env });
    if (s.code !== 0) throw new Error(`sync failed (${s.code}): ${s.stderr.slice(0, 400)}`);
    const rep = JSON.parse(s.stdout).connections[0];
    if (rep.added !== N) throw new Error(`sync added ${rep.added}, expected ${N}`);
    syncs.push(s.wall);
    console.error(`  run ${i + 1}: sync ${sec(s.wall)}, baseline ${sec(b.wall)} (${(s.wall / b.wall).toFixed(2)}×)`);
  }
  const f = median(syncs);
  const b = median(bases);
  const out = { n: N, page: PAGE, runs: REPS, sync_median_ms: Math.round(f), baseline_median_ms: Math.round(b), ratio: Number((f / b).toFixed(2)), orders_per_s: Math.round(N / (f / 1000)), node: process.version };
  console.error(`median: sync ${sec(f)} (${out.orders_per_s.toLocaleString()} orders/s), baseline ${sec(b)}, ratio ${out.ratio}× (goal ≤ 1.5×)`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await replica.close();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
}
