#!/usr/bin/env node
/**
 * The first and second `orders stats --by category` after a big write, for this build and
 * (optionally) another one, alternating on fresh copies of the same database so both see the
 * same machine. The database comes from bench/gen-db.mjs and is never kept in the repository.
 *
 *   node bench/gen-db.mjs /tmp/h1m 1000000
 *   node bench/category-first.mjs --db /tmp/h1m/profiles/default/orderlink.db [--other /path/bin/orderlink] [--reps 3]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const DB = opt('--db');
if (!DB) throw new Error('--db PATH (from bench/gen-db.mjs) is required');
const REPS = Number(opt('--reps') ?? 3);
const bins = { this: fileURLToPath(new URL('../bin/orderlink', import.meta.url)), ...(opt('--other') ? { other: opt('--other') } : {}) };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(bin, home, args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ORDERLINK_HOME: home }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr.slice(0, 300)}`);
  return performance.now() - t0;
}

const times = Object.fromEntries(Object.keys(bins).map((k) => [k, { month: [], first: [], second: [] }]));
for (let i = 0; i < REPS; i++) {
  for (const [name, bin] of Object.entries(bins)) {
    const home = mkdtempSync(join(tmpdir(), 'orderlink-catfirst-'));
    try {
      mkdirSync(join(home, 'profiles', 'default'), { recursive: true, mode: 0o700 });
      copyFileSync(DB, join(home, 'profiles', 'default', 'orderlink.db'));
      // As after a sync: the order totals are fresh, the category totals wait for their first reader.
      times[name].month.push(run(bin, home, ['orders', 'stats', '--by', 'month']));
      times[name].first.push(run(bin, home, ['orders', 'stats', '--by', 'category']));
      times[name].second.push(run(bin, home, ['orders', 'stats', '--by', 'category']));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }
}
for (const [name, t] of Object.entries(times)) {
  const f = (xs) => `${Math.round(median(xs))} ms (runs ${xs.map(Math.round).join(', ')})`;
  console.log(`${name.padEnd(5)} first ${f(t.first)}; second ${f(t.second)}; stats --by month before them ${f(t.month)}`);
}
