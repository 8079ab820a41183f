/**
 * What a matched order records about its sources: which connection supplied which field. The
 * order's source (Amazon's export, Knot) gives what was bought — retailer, date, items, amounts as
 * billed; the card (Plaid) gives what actually settled — the amount, the date it posted, the
 * merchant as the bank printed it. Stored as JSON in reconciliations.provenance.
 */
import { formatMinor } from '../connectors/money.js';
import type { Edge } from './match.js';
import type { LoadedCharge, LoadedOrder } from './store.js';

export function provenance(e: Edge, order: LoadedOrder, charges: readonly LoadedCharge[], handles: ReadonlyMap<number, string>): Record<string, unknown> {
  const os = handles.get(order.connectionId) ?? `connection ${order.connectionId}`;
  const cs = [...new Set(charges.map((c) => handles.get(c.connectionId) ?? `connection ${c.connectionId}`))].join(', ');
  const sum = charges.reduce((s, c) => s + c.amount, 0);
  const last = charges.map((c) => c.date).sort().at(-1) ?? null;
  const fields: Record<string, string> =
    e.kind === 'payment'
      ? {
          retailer: os,
          order_date: os,
          ...(order.itemCount > 0 ? { items: os } : {}),
          subtotal: os,
          tax: os,
          shipping: os,
          discount: os,
          total: os,
          status: os,
          settled_amount: cs,
          settled_date: cs,
          card_merchant: cs,
        }
      : { refunded: os, refund_settled_amount: cs, refund_settled_date: cs, card_merchant: cs };
  return {
    fields,
    order: { source: os, order_id: order.orderId, date: order.date },
    charges: charges.map((c) => ({
      source: handles.get(c.connectionId) ?? `connection ${c.connectionId}`,
      transaction_id: c.transactionId,
      date: c.date,
      amount: formatMinor(c.amount, c.currency),
      amount_minor: c.amount,
      pending: c.pending,
    })),
    settled: { amount: formatMinor(sum, order.currency), amount_minor: sum, currency: order.currency, date: last, charges: charges.length },
  };
}
