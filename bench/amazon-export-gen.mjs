#!/usr/bin/env node
/**
 * A synthetic 10-year Amazon privacy export (Retail.OrderHistory layout, 28 quoted columns, BOM),
 * written at run time for the bench and the crash test; never committed. About three rows per
 * order, per-shipment subtotals repeated on each row, some `'-1.7'` discounts, cancelled lines,
 * two currencies, and fake payment/address values that must never reach the database.
 *
 *   node bench/amazon-export-gen.mjs OUT.csv [ORDERS]   (default 20000 orders)
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export const HEADER = ['Website', 'Order ID', 'Order Date', 'Purchase Order Number', 'Currency', 'Unit Price', 'Unit Price Tax', 'Shipping Charge', 'Total Discounts', 'Total Owed', 'Shipment Item Subtotal', 'Shipment Item Subtotal Tax', 'ASIN', 'Product Condition', 'Quantity', 'Payment Instrument Type', 'Order Status', 'Shipment Status', 'Ship Date', 'Shipping Option', 'Shipping Address', 'Billing Address', 'Carrier Name & Tracking Number', 'Product Name', 'Gift Message', 'Gift Sender Name', 'Gift Recipient Contact Details', 'Item Serial Number'];
export const FAKE_PII = ['Visa - 4242', 'ZZSECRET-STREET 1', 'TRKFAKE0000', 'GIFTMSGFAKE', 'SERIALFAKE99'];

const q = (v) => `"${String(v).replace(/"/g, '""')}"`;
const fmt = (cents) => (cents / 100).toFixed(2).replace(/\.?0+$/, '') || '0';

/** Writes the file; resolves with { orders, rows }. Deterministic for a given count. */
export async function generateExport(path, orders = 20000) {
  const out = createWriteStream(path);
  let rows = 0;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const write = async (s) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('\uFEFF' + HEADER.map(q).join(',') + '\n');
  const start = Date.UTC(2016, 0, 1);
  for (let i = 0; i < orders; i++) {
    const id = `1${String(10 + (i % 90)).padStart(2, '0')}-${String(1000000 + i).padStart(7, '0')}-${String(7000000 + ((i * 7919) % 1000000)).padStart(7, '0')}`;
    const cad = i % 10 === 0;
    const date = new Date(start + Math.floor((i / orders) * 10 * 365 * 86400000)).toISOString().replace('.000Z', 'Z');
    const lines = 1 + Math.floor(rnd() * 5); // 1..5, about 3 on average
    const cancelled = i % 50 === 7;
    for (let l = 0; l < lines; l++) {
      const price = 100 + Math.floor(rnd() * 20000);
      const qty = cancelled ? 0 : 1 + (l === 2 ? 1 : 0);
      const disc = l === 1 && i % 3 === 0 ? -170 : 0;
      const owed = cancelled ? 0 : price * qty + disc;
      const row = [cad ? 'Amazon.ca' : 'Amazon.com', id, date, 'Not Applicable', cad ? 'CAD' : 'USD', fmt(price), '0', '0', disc ? `'${fmt(disc)}'` : '0', fmt(owed), '99.99', '0', `B0${String(i * 7 + l).padStart(8, '0')}`, 'New', qty, FAKE_PII[0], cancelled ? 'Cancelled' : 'Closed', cancelled ? 'Not Available' : 'Shipped', date, 'next-1dc', FAKE_PII[1], FAKE_PII[1], `UPS(${FAKE_PII[2]})`, `Product ${i}-${l}, "quoted" name`, FAKE_PII[3], 'Not Available', 'Not Available', FAKE_PII[4]];
      await write(row.map(q).join(',') + '\n');
      rows++;
    }
  }
  out.end();
  await once(out, 'close');
  return { orders, rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/amazon-export-gen.mjs OUT.csv [ORDERS]');
    process.exit(2);
  }
  const r = await generateExport(file, n ? Number(n) : 20000);
  console.error(`${file}: ${r.orders} orders, ${r.rows} rows`);
}
