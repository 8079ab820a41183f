/** `orderlink sandbox serve --provider plaid`: the Plaid replica on 127.0.0.1 until Ctrl-C. */
import type { Context } from '../../context.js';
import type { SandboxServeOptions } from '../../commands/sandbox.js';
import { usageError } from '../../errors.js';
import { printJson } from '../../ui/render.js';
import { startPlaidReplica, type PlaidFaults } from './plaid.js';
import { serveUntilInterrupted } from '../serving.js';

export const PLAID_FAULTS_HELP = 'Plaid faults: rate429=N (the next N syncs answer 429), mutation=N (N updates change under a paginating client), error500=N, latency=MSms, not_ready=N (polls before a new Item is ready)';

export function parsePlaidFaults(spec: string): { faults: Partial<PlaidFaults>; notReady?: number } {
  const faults: Partial<PlaidFaults> = {};
  let notReady: number | undefined;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(rate429|mutation|error500|latency|not_ready)=(\d{1,7})(ms)?$/.exec(part);
    if (!m) throw usageError('BAD_FAULTS', `unknown Plaid fault "${part.slice(0, 40)}"`, PLAID_FAULTS_HELP);
    const n = Number(m[2]);
    if (m[1] === 'rate429') faults.rateLimit = n;
    else if (m[1] === 'mutation') faults.mutateDuringPagination = n;
    else if (m[1] === 'error500') faults.internalError = n;
    else if (m[1] === 'latency') faults.latencyMs = n;
    else notReady = n;
  }
  return { faults, ...(notReady === undefined ? {} : { notReady }) };
}

export async function servePlaidReplica(ctx: Context, o: SandboxServeOptions): Promise<number> {
  const parsed = o.faults ? parsePlaidFaults(o.faults) : { faults: {} };
  // Fixed credentials from the environment keep the secret off the screen; otherwise a throwaway pair is made and shown.
  const fixed = ctx.env.ORDERLINK_PLAID_REPLICA_CLIENT_ID && ctx.env.ORDERLINK_PLAID_REPLICA_SECRET;
  const replica = await startPlaidReplica({
    port: o.port,
    seed: o.seed,
    transactions: o.orders,
    ...(parsed.notReady === undefined ? {} : { notReadyPolls: parsed.notReady }),
    ...(fixed ? { clientId: ctx.env.ORDERLINK_PLAID_REPLICA_CLIENT_ID!, secret: ctx.env.ORDERLINK_PLAID_REPLICA_SECRET! } : {}),
  });
  Object.assign(replica.faults, parsed.faults);
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, { url: replica.url, client_id: replica.clientId, ...(fixed ? {} : { secret: replica.secret }), transactions_per_item: o.orders, seed: o.seed });
  } else {
    io.out(replica.url);
    io.err(`${io.errColor.green('●')} Plaid replica (API version 2020-09-14) listening on ${replica.url}`);
    io.err(`  client id   ${replica.clientId}`);
    io.err(fixed ? '  secret      from ORDERLINK_PLAID_REPLICA_SECRET' : `  secret      ${replica.secret}   (a throwaway test secret for this replica only)`);
    io.err(`  data        ${o.orders} transactions per Item, seed ${o.seed}; sandbox login user_good / pass_good`);
    if (o.faults) io.err(`  faults      ${o.faults}`);
    io.err('Set it up and link:');
    io.err(`  printf '%s\\n%s\\n' CLIENT_ID SECRET | orderlink connector setup plaid --env sandbox --base-url ${replica.url} --credentials-stdin`);
    io.err('  orderlink link plaid --sandbox && orderlink sync && orderlink charges');
    io.err('Press Ctrl-C to stop.');
  }
  return serveUntilInterrupted(ctx, replica, 'Plaid replica');
}
