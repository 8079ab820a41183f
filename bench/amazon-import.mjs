#!/usr/bin/env node
/**
 * `node bench/amazon-import.mjs [--runs N] [--orders N]`: time `orderlink import amazon FILE` beside
 * `sqlite-utils insert DB table FILE --csv` of the same generated 10-year export, in the same run,
 * several runs each, medians and the ratio; then peak RSS of the import at two file sizes (memory
 * flat in the file's size). Figures, not assertions; not in CI. Temp files are deleted afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateExport } from './amazon-export-gen.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'orderlink');
const HOOK = join(ROOT, 'bench', 'rss-hook.mjs');
const arg = (name, d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const RUNS = arg('--runs', 5);
const ORDERS = arg('--orders', 20000);
const dir = mkdtempSync(join(tmpdir(), 'orderlink-bench-amazon-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(cmd, argv, env = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 400)}`))));
  });
}

async function importRss(file, tag) {
  const rss = join(dir, `rss-${tag}`);
  await time(process.execPath, ['--import', HOOK, BIN, '--home', join(dir, `home-rss-${tag}`), 'import', 'amazon', file], { BENCH_RSS_FILE: rss });
  return Number(readFileSync(rss, 'utf8')) / 1024;
}

try {
  const file = join(dir, 'Retail.OrderHistory.1.csv');
  const gen = await generateExport(file, ORDERS);
  console.error(`export: ${gen.orders} orders, ${gen.rows} rows, ${(statSync(file).size / 1e6).toFixed(1)} MB`);
  const haveSU = spawnSync('sqlite-utils', ['--version']).status === 0;
  if (!haveSU) console.error('sqlite-utils not installed (apt-get install -y sqlite-utils): baseline skipped');
  const ours = [];
  const base = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await time(process.execPath, [BIN, '--home', join(dir, `home-${i}`), 'import', 'amazon', file]));
    if (haveSU) base.push(await time('sqlite-utils', ['insert', join(dir, `su-${i}.db`), 'orders', file, '--csv']));
  }
  const m = median(ours);
  console.log(`orderlink import amazon: median ${m.toFixed(0)} ms over ${RUNS} runs (${ours.map((x) => x.toFixed(0)).join(', ')})`);
  if (haveSU) {
    const b = median(base);
    console.log(`sqlite-utils insert --csv: median ${b.toFixed(0)} ms (${base.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`ratio orderlink / sqlite-utils: ${(m / b).toFixed(2)} (goal <= 1.0)`);
  }
  const small = join(dir, 'small.csv');
  await generateExport(small, Math.round(ORDERS / 4));
  const big = join(dir, 'big.csv');
  await generateExport(big, ORDERS * 2);
  const r1 = await importRss(small, 'small');
  const r2 = await importRss(file, 'mid');
  const r3 = await importRss(big, 'big');
  console.log(`peak RSS of the import: ${r1.toFixed(0)} MB at ${ORDERS / 4} orders, ${r2.toFixed(0)} MB at ${ORDERS}, ${r3.toFixed(0)} MB at ${ORDERS * 2}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
