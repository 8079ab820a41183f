/**
 * The registry: a literal map. Adding a provider is one folder and one line here
 * (STYLE.md example 6); test/connectors.test.ts checks every entry's facts, docs and fixtures.
 */
import { OrderlinkError } from '../errors.js';
import { amazon } from './amazon/index.js';
import { amazonSeller } from './amazon-seller/index.js';
import { sandbox } from './sandbox/index.js';
import { knot } from './knot/index.js';
import { plaid } from './plaid/index.js';
import { shopify } from './shopify/index.js';
import type { Connector } from './types.js';

export const CONNECTORS = {
  sandbox,
  amazon,
  knot,
  plaid,
  shopify,
  'amazon-seller': amazonSeller,
} as const satisfies Record<string, Connector<never, never> | Connector<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type ConnectorId = keyof typeof CONNECTORS;

export function getConnector(id: string): Connector {
  const c = (CONNECTORS as Record<string, Connector<any, any>>)[id]; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!c) {
    throw new OrderlinkError('UNKNOWN_CONNECTOR', `no connector called "${id.slice(0, 40)}"`, {
      kind: 'usage',
      hint: `Available: ${Object.keys(CONNECTORS).join(', ')}.`,
    });
  }
  return c as Connector;
}

export function listConnectors(): Connector[] {
  return Object.values(CONNECTORS) as Connector[];
}
