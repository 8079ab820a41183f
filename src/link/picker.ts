/**
 * Onboarding without arguments (seed 000): "Where do you shop?", a searchable list with the P0
 * retailers first, the consent text, then the right flow for the retailer. The routes are honest
 * (DESIGN.md "Connectors"): no big retailer has a consumer OAuth API, so each is reached through an
 * aggregator or its own data export; where that connector is not in this build yet we say so
 * instead of pretending.
 */
import type { Context } from '../context.js';
import { CONNECTORS } from '../connectors/registry.js';

export const CONSENT_TEXT = 'We only access order history and basic profile info. We never access or store payment details.';

interface RetailerRoute {
  name: string;
  p0: boolean;
  /** Connector ids that can link this retailer, best first. */
  routes: Array<{ connector: string; how: string }>;
}

export const RETAILERS: readonly RetailerRoute[] = [
  { name: 'Amazon', p0: true, routes: [{ connector: 'amazon-export', how: 'your "Request Your Data" order-history export (CSV, no password shared)' }, { connector: 'knot', how: 'Knot TransactionLink (aggregator)' }] },
  { name: 'Walmart', p0: true, routes: [{ connector: 'knot', how: 'Knot TransactionLink (aggregator)' }] },
  { name: 'Target', p0: true, routes: [{ connector: 'knot', how: 'Knot TransactionLink (aggregator)' }] },
  { name: "Macy's", p0: true, routes: [{ connector: 'knot', how: 'Knot TransactionLink (aggregator)' }] },
  { name: 'A Shopify store', p0: false, routes: [{ connector: 'shopify', how: "the store's Customer Account API (OAuth, paste-the-URL mode)" }] },
  { name: 'Any bank or card (transactions, no items)', p0: false, routes: [{ connector: 'plaid', how: 'Plaid Hosted Link (aggregator)' }] },
  { name: 'orderlink sandbox (a test provider on this machine)', p0: false, routes: [{ connector: 'sandbox', how: 'OAuth in your browser on a loopback redirect' }] },
];

/** Returns the connector id to link, or null after explaining why there is nothing to link yet. */
export async function pickRetailer(ctx: Context): Promise<string | null> {
  const io = ctx.io;
  const available = (id: string) => Object.prototype.hasOwnProperty.call(CONNECTORS, id);
  const choice = await ctx.prompter().search(
    'Where do you shop?',
    RETAILERS.map((r) => ({
      value: r.name,
      name: `${r.p0 ? '★ ' : '  '}${r.name}`,
      description: r.routes.map((x) => `${available(x.connector) ? '' : '(coming) '}${x.how}`).join(' · '),
    })),
  );
  const retailer = RETAILERS.find((r) => r.name === choice)!;
  io.err('');
  io.err(io.errColor.bold(CONSENT_TEXT));
  io.err('');
  const route = retailer.routes.find((x) => available(x.connector));
  if (!route) {
    io.err(`${retailer.name} is reached through ${retailer.routes.map((x) => x.how).join(', or ')}.`);
    io.err('That connector is not in this build of orderlink yet (see docs/connectors.md for the plan and the provider facts).');
    io.err('Meanwhile, `orderlink demo` shows the whole flow against the built-in sandbox.');
    ctx.audit('link.unavailable', null, { retailer: retailer.name });
    return null;
  }
  if (!(await ctx.prompter().confirm(`Link ${retailer.name} through ${route.how}?`, true))) return null;
  return route.connector;
}
