/** A normalized order with one line item, for tests that write orders straight into a store. */
import type { NormalizedOrder } from '../../src/domain.js';

export interface OrderSpec {
  orderId: string;
  orderDate: string;
  total: number;
  retailer?: string;
  currency?: string;
  category?: string;
  itemName?: string;
}

export function oneItemOrder(o: OrderSpec): NormalizedOrder {
  return {
    orderId: o.orderId,
    retailer: o.retailer ?? 'Shop',
    orderDate: o.orderDate,
    status: 'delivered',
    currency: o.currency ?? 'USD',
    subtotal: o.total,
    tax: 0,
    shipping: 0,
    discount: 0,
    total: o.total,
    refunded: 0,
    providerUpdatedAt: null,
    items: [{ lineNo: 1, name: o.itemName ?? `Item of ${o.orderId}`, sku: null, unitPrice: o.total, quantity: 1, category: o.category ?? 'Home' }],
  };
}
