/** The shapes the read side of orders speaks (src/store/queries.ts): filters, rows, totals. */
import type { MinorSum } from '../connectors/money.js';
import type { OneOrMany } from './filter.js';

export interface OrderFilter {
  connectionIds?: number[];
  /** One retailer or several (any of them), compared case-insensitively. */
  retailer?: OneOrMany;
  /** Inclusive lower bound, UTC ISO 8601. */
  since?: string;
  /** Exclusive upper bound, UTC ISO 8601. */
  until?: string;
  status?: string[];
  /** Orders with an item in this category, or in any of these; case-insensitive. */
  category?: OneOrMany;
  /** ISO 4217 code (upper case). */
  currency?: string;
  /** Major units, compared in each order's own currency (10 means $10.00, ¥10, 10.000 KWD). */
  min?: number;
  max?: number;
  /** Words to find in item names (see ftsQuery). */
  search?: string;
  includeDeleted?: boolean;
}

export type SortKey = 'date' | '-date' | 'total' | '-total' | 'retailer' | '-retailer';

export interface OrderRow {
  id: number;
  connectionId: number;
  orderId: string;
  retailer: string;
  orderDate: string;
  status: string;
  currency: string;
  subtotal: number;
  tax: number;
  shipping: number;
  discount: number;
  total: number;
  refunded: number;
  itemCount: number;
  firstSeenAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

export interface ItemRow {
  lineNo: number;
  name: string;
  sku: string | null;
  unitPrice: number;
  quantity: number;
  category: string | null;
}

/** Sums are exact: numbers while safe, bigints beyond 2^53 (MinorSum; see rollups.ts splitSum). */
export interface StatRow {
  /** The month (YYYY-MM), retailer or category; '' for items without a category. */
  key: string;
  currency: string;
  orders: number;
  total: MinorSum;
  refunded: MinorSum;
}

/** Count and totals of one currency within a filtered set of orders. */
export interface CurrencyTotal {
  currency: string;
  orders: number;
  total: MinorSum;
  refunded: MinorSum;
}

export interface OrderSummary {
  /** Matching orders; a lower bound when not exact. */
  orders: number;
  /** False when counting stopped early (see OrderQueries.summary); `totals` is then empty. */
  exact: boolean;
  totals: CurrencyTotal[];
}
