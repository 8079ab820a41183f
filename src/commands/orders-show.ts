/** `orderlink orders show ORDER`: one order with its amounts and line items (split from orders.ts). */
import type { Context } from '../context.js';
import { OrderlinkError } from '../errors.js';
import { connectionHandle } from '../store/index.js';
import type { OrderRow } from '../store/index.js';
import { orderDetailRecord, renderOrderDetail, type Handles } from '../ui/orders-view.js';
import { printJson } from '../ui/render.js';

export interface OrdersShowOptions {
  order: string;
}

export function handlesOf(ctx: Context): Handles {
  return new Map(ctx.store().connections.list().map((c) => [c.id, connectionHandle(c)]));
}

export async function runOrdersShow(ctx: Context, o: OrdersShowOptions): Promise<number> {
  const order = resolveOrder(ctx, o.order);
  const items = ctx.store().orders.items(order.id);
  const handles = handlesOf(ctx);
  if (ctx.json) printJson(ctx.io, orderDetailRecord(order, items, handles));
  else renderOrderDetail(ctx.io, order, items, handles.get(order.connectionId) ?? String(order.connectionId));
  return 0;
}

/**
 * An order id, or CONNECTION:ORDER_ID. Provider ids are unique per connection only, and may
 * themselves contain ":", so each split point is tried with a connection that exists.
 */
function resolveOrder(ctx: Context, ref: string): OrderRow {
  const store = ctx.store();
  const orders = store.orders;
  const all = orders.findByOrderId(ref);
  const live = all.filter((r) => r.deletedAt === null);
  const found = live.length ? live : all;
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    const handles = handlesOf(ctx);
    throw new OrderlinkError('ORDER_AMBIGUOUS', `order "${ref.slice(0, 80)}" exists in ${found.length} connections`, {
      kind: 'usage',
      hint: `Name it with its connection: ${found.map((r) => `${handles.get(r.connectionId) ?? r.connectionId}:${ref}`).join(', ')}`,
    });
  }
  for (let i = ref.indexOf(':'); i > 0; i = ref.indexOf(':', i + 1)) {
    let connectionId: number;
    try {
      connectionId = store.connections.resolve(ref.slice(0, i)).id;
    } catch {
      continue;
    }
    const hit = orders.findByOrderId(ref.slice(i + 1), connectionId)[0];
    if (hit) return hit;
  }
  if (/^\d{1,15}$/.test(ref)) {
    // The row id printed as "id" by --json.
    const hit = orders.byRowId(Number(ref));
    if (hit) return hit;
  }
  throw new OrderlinkError('ORDER_NOT_FOUND', `no order "${ref.slice(0, 80)}" in this profile`, {
    hint: 'Find its id with `orderlink orders --search WORDS` or `orderlink orders --since 30d`; run `orderlink sync` if it is new.',
  });
}

