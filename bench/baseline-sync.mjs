// The raw baseline for bench/run.mjs: what any sync must at least do. Plain undici fetch of the
// same pages, and better-sqlite3 inserts of the raw rows, one transaction per page. No policy,
// no validation, no normalisation, no cursor bookkeeping: the ratio is what those cost.
//   node bench/baseline-sync.mjs ISSUER REFRESH_TOKEN DB_PATH PAGE_SIZE
import { fetch } from 'undici';
import Database from 'better-sqlite3';

const [issuer, refreshToken, dbPath, pageSize] = process.argv.slice(2);
const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
const tok = await (
  await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'orderlink-cli' }),
  })
).json();
if (!tok.access_token) throw new Error(`no access token: ${tok.error}`);
const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE raw (id TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT');
const ins = db.prepare('INSERT INTO raw (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body');
const page = db.transaction((orders) => {
  for (const o of orders) ins.run(String(o.id), JSON.stringify(o));
});
let cursor = null;
let n = 0;
for (;;) {
  const u = new URL(`${issuer}/api/v1/orders`);
  u.searchParams.set('limit', pageSize);
  if (cursor) u.searchParams.set('cursor', cursor);
  const res = await fetch(u, { headers: { authorization: `Bearer ${tok.access_token}` } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = await res.json();
  page(body.orders);
  n += body.orders.length;
  if (!body.has_more || !body.next_cursor) break;
  cursor = body.next_cursor;
}
db.close();
process.stdout.write(`${n}\n`);
