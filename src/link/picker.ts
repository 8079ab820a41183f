/**
 * Onboarding without arguments (seed 000): "Where do you shop?", a searchable list with the P0
 * retailers first, the consent text, then the right way in for that retailer. The routes are
 * honest (DESIGN.md "Connectors"): no big retailer has a consumer OAuth API, so each is reached
 * through its own data export or an aggregator. Each route's state is read from the registry and
 * the vault — ready, needs a one-time setup (and exactly which command), an import (and where to
 * get the file), or not in this build.
 */
import type { Context } from '../context.js';
import { CONNECTORS } from '../connectors/registry.js';
import type { Connector } from '../connectors/types.js';

import { showConsent } from './consent.js';

export { CONSENT_TEXT } from './consent.js';

interface RetailerRoute {
  name: string;
  p0: boolean;
  /** Connector ids that can link this retailer, best first. */
  routes: Array<{ connector: string; how: string; params?: Record<string, string> }>;
}

const knot = (merchant: string) => ({ connector: 'knot', how: 'Knot TransactionLink (log in to your account on Knot\'s page; orders with items)', params: { merchant } });

export const RETAILERS: readonly RetailerRoute[] = [
  { name: 'Amazon', p0: true, routes: [{ connector: 'amazon', how: 'your Amazon order-history export (a file you download; no password shared)' }, knot('amazon')] },
  { name: 'Walmart', p0: true, routes: [knot('walmart')] },
  { name: 'Target', p0: true, routes: [knot('target')] },
  { name: "Macy's", p0: true, routes: [knot('macys')] },
  { name: 'Costco', p0: false, routes: [knot('costco')] },
  { name: 'DoorDash', p0: false, routes: [knot('doordash')] },
  { name: 'A Shopify store', p0: false, routes: [{ connector: 'shopify', how: "the store's Customer Account API (OAuth)" }] },
  { name: 'My bank or card (charges, no items)', p0: false, routes: [{ connector: 'plaid', how: 'Plaid Hosted Link (card and bank transactions)' }] },
  { name: 'orderlink sandbox (a test provider on this machine)', p0: false, routes: [{ connector: 'sandbox', how: 'OAuth in your browser on a loopback redirect' }] },
];

export type RouteState = 'ready' | 'needs-setup' | 'import' | 'missing';

export interface Pick {
  connector: string;
  params: Record<string, string>;
}

async function stateOf(ctx: Context, id: string): Promise<{ state: RouteState; impl?: Connector }> {
  const c = (CONNECTORS as Record<string, Connector>)[id];
  if (!c) return { state: 'missing' };
  if (c.auth.type === 'fileImport') return { state: 'import', impl: c };
  if (c.auth.type === 'oauth') return { state: c.auth.clientId === null ? 'needs-setup' : 'ready', impl: c };
  if (!c.auth.needsAppCredentials) return { state: 'ready', impl: c };
  if (!ctx.hasVault()) return { state: 'needs-setup', impl: c };
  try {
    const refs = (await ctx.vault()).list();
    return { state: refs.some((r) => r.startsWith(`app:${id}:`)) ? 'ready' : 'needs-setup', impl: c };
  } catch {
    return { state: 'needs-setup', impl: c };
  }
}

function setupHint(c: Connector): string {
  if (c.auth.type === 'oauth') return `orderlink link ${c.id}${c.id === 'shopify' ? ' --shop SHOP-DOMAIN' : ''} --client-id CLIENT_ID (see ${c.docs})`;
  return `orderlink connector setup ${c.id}   (your ${c.displayName} client id and secret; see ${c.docs})`;
}

/**
 * Returns what to link, or a number: the exit code after explaining (0 when an import was
 * explained, 1 when nothing can reach that retailer in this build yet).
 */
export async function pickRetailer(ctx: Context): Promise<Pick | number> {
  const io = ctx.io;
  const states = new Map<string, Awaited<ReturnType<typeof stateOf>>>();
  for (const id of new Set(RETAILERS.flatMap((r) => r.routes.map((x) => x.connector)))) states.set(id, await stateOf(ctx, id));
  const label: Record<RouteState, string> = { ready: '', 'needs-setup': '(set up first) ', import: '(import a file) ', missing: '(not in this build) ' };
  const choice = await ctx.prompter().search(
    'Where do you shop?',
    RETAILERS.map((r) => ({
      value: r.name,
      name: `${r.p0 ? '★ ' : '  '}${r.name}`,
      description: r.routes.map((x) => `${label[states.get(x.connector)!.state]}${x.how}`).join(' · '),
    })),
  );
  const retailer = RETAILERS.find((r) => r.name === choice)!;
  showConsent(ctx, null, 'picker');
  const routes = retailer.routes.map((r) => ({ ...r, ...states.get(r.connector)! }));
  const usable = routes.filter((r) => r.state === 'ready' || r.state === 'import');
  let route = usable[0];
  if (usable.length > 1) {
    const how = await ctx.prompter().search(`How do you want to bring in your ${retailer.name} orders?`, usable.map((r) => ({ value: r.connector, name: r.how })));
    route = usable.find((r) => r.connector === how);
  }
  if (!route) {
    io.err(`${retailer.name} is reached through ${retailer.routes.map((x) => x.how).join(', or ')}.`);
    for (const r of routes) {
      if (r.state === 'needs-setup') io.err(`To use ${r.impl!.displayName}, set it up once:\n  ${setupHint(r.impl!)}`);
      if (r.state === 'missing') io.err(`The ${r.connector} connector is not in this build of orderlink yet (see docs/connectors.md for the plan and the provider facts).`);
    }
    if (routes.every((r) => r.state === 'missing')) io.err('Meanwhile, `orderlink demo` shows the whole flow against the built-in sandbox.');
    ctx.audit('link.unavailable', null, { retailer: retailer.name, routes: routes.map((r) => `${r.connector}:${r.state}`) });
    return 1;
  }
  if (route.state === 'import') {
    const c = route.impl!;
    io.err(c.auth.type === 'fileImport' ? c.auth.description : '');
    io.err(`Then run:\n  orderlink import ${c.id} PATH     (the .zip as downloaded, its folder, or one CSV)`);
    ctx.audit('link.import_explained', null, { retailer: retailer.name, connector: c.id });
    return 0;
  }
  if (!(await ctx.prompter().confirm(`Link ${retailer.name} through ${route.how}?`, true))) return 1;
  return { connector: route.connector, params: route.params ?? {} };
}
