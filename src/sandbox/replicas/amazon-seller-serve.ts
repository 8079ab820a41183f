/** `orderlink sandbox serve --provider amazon-seller`: the LWA + SP-API Orders replica on 127.0.0.1 until Ctrl-C. */
import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.js';
import type { SandboxServeOptions } from '../../commands/sandbox.js';
import { usageError } from '../../errors.js';
import { printJson } from '../../ui/render.js';
import { DEFAULT_PLANS, startSpApiReplica, type Plan } from './amazon-seller.js';
import { MINT_PATH, portError } from './replica-admin.js';
import { serveUntilInterrupted } from '../serving.js';

type Op = keyof typeof DEFAULT_PLANS;
const OPS = Object.keys(DEFAULT_PLANS) as Op[];
const MARKETPLACE = 'ATVPDKIKX0DER'; // Amazon.com (US), region na
/**
 * The replica's shop creates order i at EPOCH + i × step (10 min by default) and serves only what
 * was created before now − 2 min: past ~22,000 orders at 10 min they would run into the future and
 * a sync would never see them. The orders are squeezed into 150 days from the replica's epoch
 * instead — same data as the library default up to 21,600 orders, deterministic for a count.
 */
const EPOCH_MS = Date.UTC(2026, 5, 1);
const SPAN_MS = 150 * 86_400_000;
const stepFor = (orders: number) => Math.max(1, Math.min(600_000, Math.floor(SPAN_MS / orders)));

export const AMAZON_SELLER_FAULTS_HELP = `Amazon seller faults: access-ttl=SECONDS (access tokens expire sooner; the API answers 403 Unauthorized), drain=OPERATION (that operation's usage-plan bucket starts empty, as after an earlier run: one 429 QuotaExceeded). Operations: ${OPS.join(', ')}`;
export const AMAZON_SELLER_PLAN_HELP = `Usage plans: OPERATION=RATE:BURST pairs, comma separated (requests per second, bucket size), the grammar of ORDERLINK_RATE_PLAN, e.g. "searchOrders=5:15,getOrderItems=5:15". Operations: ${OPS.join(', ')}. Default: Amazon's documented plans (searchOrders 0.0056/s burst 20).`;

export interface AmazonSellerFaults { accessTokenTtl?: number; drain: Op[] }

export function parseAmazonSellerFaults(spec: string): AmazonSellerFaults {
  const f: AmazonSellerFaults = { drain: [] };
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(access-ttl|drain)=([A-Za-z0-9]{1,20})$/.exec(part);
    const ttl = m?.[1] === 'access-ttl' && /^\d{1,7}$/.test(m[2]!) ? Number(m[2]) : undefined;
    if (m && ttl !== undefined && ttl >= 1) f.accessTokenTtl = ttl;
    else if (m?.[1] === 'drain' && (OPS as string[]).includes(m[2]!)) f.drain.push(m[2] as Op);
    else throw usageError('BAD_FAULTS', `unknown Amazon seller fault "${part.slice(0, 40)}"`, AMAZON_SELLER_FAULTS_HELP);
  }
  return f;
}

export function parseAmazonSellerPlans(spec: string): Partial<Record<Op, Plan>> {
  const plans: Partial<Record<Op, Plan>> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]{1,20})=(\d{1,6}(?:\.\d{1,6})?):(\d{1,6})$/.exec(part);
    const rate = m ? Number(m[2]) : 0;
    const burst = m ? Number(m[3]) : 0;
    if (!m || !(OPS as string[]).includes(m[1]!) || rate <= 0 || burst < 1) throw usageError('BAD_RATE_PLAN', `invalid usage plan "${part.slice(0, 40)}"`, AMAZON_SELLER_PLAN_HELP);
    plans[m[1] as Op] = { rate, burst };
  }
  return plans;
}

/** Single-quoted for sh; the values here are ids and URLs, but a copied command must never split. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function serveAmazonSellerReplica(ctx: Context, o: SandboxServeOptions): Promise<number> {
  // Everything is parsed before the port opens: a bad spec is a usage error (exit 2) with nothing started.
  const faults = o.faults ? parseAmazonSellerFaults(o.faults) : { drain: [] };
  const plans = o.ratePlan ? parseAmazonSellerPlans(o.ratePlan) : {};
  // Fixed credentials from the environment keep the secret off the screen; otherwise a throwaway pair is made and shown.
  const env = ctx.env;
  const fixed = Boolean(env.ORDERLINK_AMAZON_SELLER_REPLICA_CLIENT_ID && env.ORDERLINK_AMAZON_SELLER_REPLICA_SECRET);
  const clientId = fixed ? env.ORDERLINK_AMAZON_SELLER_REPLICA_CLIENT_ID! : `amzn1.application-oa2-client.replica${randomBytes(8).toString('hex')}`;
  const secret = fixed ? env.ORDERLINK_AMAZON_SELLER_REPLICA_SECRET! : `amzn1.oa2-cs.v1.replica${randomBytes(16).toString('hex')}`;
  const replica = await startSpApiReplica({
    port: o.port,
    seed: o.seed,
    orders: o.orders,
    marketplace: MARKETPLACE,
    epochMs: EPOCH_MS,
    stepMs: stepFor(o.orders),
    clientId,
    clientSecret: secret,
    plans,
    mintRoute: true,
    ...(faults.accessTokenTtl ? { accessTokenTtl: faults.accessTokenTtl } : {}),
  }).catch((err: unknown) => {
    throw portError(err, o.port);
  });
  for (const op of faults.drain) replica.drain(op);
  const effective = { ...DEFAULT_PLANS, ...plans };
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const created = `${day(EPOCH_MS)} to ${day(EPOCH_MS + (o.orders - 1) * stepFor(o.orders))}`;
  const credentials = fixed ? '"$ORDERLINK_AMAZON_SELLER_REPLICA_CLIENT_ID" "$ORDERLINK_AMAZON_SELLER_REPLICA_SECRET"' : `${q(clientId)} ${q(secret)}`;
  const setup = `printf '%s\\n%s\\n' ${credentials} | orderlink connector setup amazon-seller --region na --base-url ${replica.url} --token-url ${replica.tokenUrl} --credentials-stdin`;
  const link = `curl -fsS -X POST ${replica.url}${MINT_PATH} | orderlink link amazon-seller --refresh-token-stdin --marketplace ${MARKETPLACE}`;
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, {
      url: replica.url,
      token_url: replica.tokenUrl,
      refresh_token_url: `${replica.url}${MINT_PATH}`,
      client_id: clientId,
      ...(fixed ? {} : { client_secret: secret }),
      region: 'na',
      marketplace: MARKETPLACE,
      orders: o.orders,
      orders_created: created,
      seed: o.seed,
      rate_plan: effective,
      faults: o.faults ?? null,
      setup_command: setup,
      link_command: link,
    });
  } else {
    io.out(replica.url);
    io.err(`${io.errColor.green('●')} Amazon SP-API replica (LWA + Orders API) listening on ${replica.url}`);
    io.err(`  token URL   ${replica.tokenUrl}`);
    io.err(`  client id   ${clientId}`);
    io.err(fixed ? '  secret      from ORDERLINK_AMAZON_SELLER_REPLICA_SECRET' : `  secret      ${secret}   (a throwaway test secret for this replica only)`);
    io.err(`  seller      marketplace ${MARKETPLACE} (Amazon.com, region na); ${o.orders} orders created ${created}, seed ${o.seed}`);
    io.err(`  plans       ${OPS.map((op) => `${op} ${effective[op].rate}/s burst ${effective[op].burst}`).join('; ')}`);
    if (o.faults) io.err(`  faults      ${o.faults}`);
    io.err('Set it up and link (the refresh token comes from the replica, a fresh one per POST, piped straight in):');
    io.err(`  ${setup}`);
    io.err(`  ${link}`);
    io.err('  orderlink sync && orderlink orders');
    io.err('Press Ctrl-C to stop.');
  }
  return serveUntilInterrupted(ctx, replica, 'Amazon SP-API replica');
}
