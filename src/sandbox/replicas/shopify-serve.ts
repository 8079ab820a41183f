/** `orderlink sandbox serve --provider shopify`: one shop's Customer Account API replica on 127.0.0.1 until Ctrl-C. */
import { randomUUID } from 'node:crypto';
import type { Context } from '../../context.js';
import type { SandboxServeOptions } from '../../commands/sandbox.js';
import { usageError } from '../../errors.js';
import { printJson } from '../../ui/render.js';
import { startShopifyReplica } from './shopify.js';
import { makeCustomers } from './shopify-data.js';
import { MINT_PATH, portError } from './replica-admin.js';
import { serveUntilInterrupted } from '../serving.js';

export const SHOPIFY_FAULTS_HELP = 'Shopify faults: rpm=N (requests per minute per customer before 429 THROTTLED; Shopify documents 3000), throttle=N[:SECONDS] (the next N GraphQL requests answer 429 THROTTLED with Retry-After SECONDS, default 1), access-ttl=SECONDS (access tokens expire sooner; the API answers 401 and orderlink refreshes)';

export interface ShopifyFaults { requestsPerMinute?: number; throttle?: { n: number; after: number }; accessTokenTtl?: number }

export function parseShopifyFaults(spec: string): ShopifyFaults {
  const f: ShopifyFaults = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(rpm|throttle|access-ttl)=(\d{1,7})(?::(\d{1,5}))?$/.exec(part);
    const n = m ? Number(m[2]) : 0;
    if (!m || n < 1 || (m[3] !== undefined && m[1] !== 'throttle')) throw usageError('BAD_FAULTS', `unknown Shopify fault "${part.slice(0, 40)}"`, SHOPIFY_FAULTS_HELP);
    if (m[1] === 'rpm') f.requestsPerMinute = n;
    else if (m[1] === 'throttle') f.throttle = { n, after: m[3] === undefined ? 1 : Number(m[3]) };
    else f.accessTokenTtl = n;
  }
  return f;
}

/** The replica generates every order up front (it answers GraphQL over them): keep that in memory's reach. */
const MAX_ORDERS = 200_000;

export async function serveShopifyReplica(ctx: Context, o: SandboxServeOptions): Promise<number> {
  const faults = o.faults ? parseShopifyFaults(o.faults) : {};
  if (o.orders * o.accounts > MAX_ORDERS) throw usageError('BAD_OPTION', `the Shopify replica holds at most ${MAX_ORDERS} orders (--orders × --accounts)`, 'Lower --orders or --accounts.');
  // A public client (PKCE, no secret), as Shopify's Customer Account API requires: nothing here is secret.
  const fromEnv = ctx.env.ORDERLINK_SHOPIFY_REPLICA_CLIENT_ID;
  if (fromEnv !== undefined && !/^shp_[0-9a-f-]{36}$/.test(fromEnv)) throw usageError('BAD_OPTION', 'ORDERLINK_SHOPIFY_REPLICA_CLIENT_ID must look like a Shopify client id: shp_ and a UUID');
  const clientId = fromEnv ?? `shp_${randomUUID()}`;
  const replica = await startShopifyReplica({
    port: o.port,
    seed: o.seed,
    orders: o.orders,
    customers: o.accounts,
    clientIds: [clientId],
    mintRoute: true,
    ...(faults.requestsPerMinute ? { requestsPerMinute: faults.requestsPerMinute } : {}),
    ...(faults.accessTokenTtl ? { accessTokenTtl: faults.accessTokenTtl } : {}),
  }).catch((err: unknown) => {
    throw portError(err, o.port);
  });
  if (faults.throttle) replica.throttleNext(faults.throttle.n, faults.throttle.after);
  const customers = makeCustomers(o.accounts).map((c) => c.name);
  const first = customers[0]!;
  const shopFlags = `--shop ${replica.url} --client-id ${clientId}`;
  const link = `curl -fsS -X POST '${replica.url}${MINT_PATH}?customer=${first}' | orderlink link shopify ${shopFlags} --refresh-token-stdin`;
  const paste = `orderlink link shopify ${shopFlags} --login-hint ${first}`;
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, {
      url: replica.url,
      issuer: replica.issuer,
      graphql_url: replica.graphqlUrl,
      refresh_token_url: `${replica.url}${MINT_PATH}`,
      client_id: clientId,
      customers,
      orders_per_customer: o.orders,
      seed: o.seed,
      faults: o.faults ?? null,
      link_command: link,
      paste_link_command: paste,
    });
  } else {
    io.out(replica.url);
    io.err(`${io.errColor.green('●')} Shopify Customer Account API replica (one shop) listening on ${replica.url}`);
    io.err(`  issuer      ${replica.issuer}`);
    io.err(`  GraphQL     ${replica.graphqlUrl}`);
    io.err(`  client id   ${clientId} (public client, PKCE S256; registered redirect https://orderlink.invalid/callback/shopify)`);
    io.err(`  customers   ${customers.join(', ')}; ${o.orders} orders each, seed ${o.seed}`);
    if (o.faults) io.err(`  faults      ${o.faults}`);
    io.err('Link without a browser (CI; the refresh token comes from the replica, a fresh one per POST, piped straight in):');
    io.err(`  ${link}`);
    io.err('  orderlink sync && orderlink orders');
    io.err("Or as a person links a real shop: open the URL this prints (the replica signs the customer in at once) and paste the https://orderlink.invalid/… address the browser lands on:");
    io.err(`  ${paste}`);
    io.err('Press Ctrl-C to stop.');
  }
  return serveUntilInterrupted(ctx, replica, 'Shopify replica');
}
