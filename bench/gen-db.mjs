// A database of N generated orders (1–3 items each, three years, the sandbox catalog), written
// through the real page writer in pages of 1,000 as a sync would: the input of the query, export
// and stats benches. Never kept: callers write it into a temporary directory.
//   node bench/gen-db.mjs HOME N        (or import { buildDb } from './gen-db.mjs')
import { fileURLToPath } from 'node:url';

export async function buildDb(home, n) {
  const { Store } = await import('../dist/store/index.js');
  const { profilePaths, ensureProfileDirs } = await import('../dist/paths.js');
  const { ITEMS, RETAILERS } = await import('../dist/sandbox/catalog.js');
  const paths = profilePaths(home, 'default');
  ensureProfileDirs(paths);
  const store = Store.open(paths.db, 'default');
  const conn = store.connections.insert({ connector: 'sandbox', retailer: '*', alias: 'bench', providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null }, new Date());
  // mulberry32: the old LCG here multiplied past 2^53 in doubles and cycled, so 1M orders had
  // only ~880 distinct dates; these have about one timestamp each, as a real history does.
  let seed = 7;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cats = Object.keys(ITEMS);
  const statuses = ['delivered', 'delivered', 'delivered', 'shipped', 'refunded', 'cancelled'];
  const writer = store.orderWriter();
  const epoch = Date.UTC(2026, 10, 1);
  for (let p = 0; p < n / 1000; p++) {
    const orders = [];
    for (let i = 0; i < 1000; i++) {
      const k = p * 1000 + i;
      const r = RETAILERS[Math.floor(rnd() * RETAILERS.length)];
      const cat = r.categories[Math.floor(rnd() * r.categories.length)] ?? cats[0];
      const pool = ITEMS[cat] ?? ITEMS[cats[0]];
      const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, j) => {
        const [name, price] = pool[Math.floor(rnd() * pool.length)];
        return { lineNo: j + 1, name, sku: `SKU-${j}`, unitPrice: price, quantity: 1 + Math.floor(rnd() * 2), category: cat };
      });
      const subtotal = items.reduce((s, it) => s + it.unitPrice * it.quantity, 0);
      orders.push({
        orderId: `B-${k}`, retailer: r.name, orderDate: new Date(epoch - Math.floor(rnd() * 3 * 365 * 86400e3)).toISOString(),
        status: statuses[Math.floor(rnd() * statuses.length)], currency: r.currency, subtotal, tax: 0, shipping: 0, discount: 0,
        total: subtotal, refunded: 0, providerUpdatedAt: null, items,
      });
    }
    writer.commitPage({ connectionId: conn.id, orders, tombstones: [], cursor: null, runRowId: null, fetched: orders.length, errors: 0, now: new Date().toISOString() });
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.db.exec('ANALYZE');
  store.close();
  return paths.db;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [home, n] = process.argv.slice(2);
  const t0 = Date.now();
  const db = await buildDb(home, Number(n));
  console.error(`${db}: ${Number(n).toLocaleString()} orders in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
