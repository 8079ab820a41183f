/** `orderlink sandbox serve --provider knot`: the Knot TransactionLink replica on 127.0.0.1 until Ctrl-C. */
import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.js';
import type { SandboxServeOptions } from '../../commands/sandbox.js';
import { usageError } from '../../errors.js';
import { printJson } from '../../ui/render.js';
import { startKnotReplica, type KnotFaults } from './knot.js';
import { serveUntilInterrupted } from '../serving.js';

export const KNOT_FAULTS_HELP = 'Knot faults: rate429=N (every Nth request answers 429), error503=N (every Nth answers 503), latency=MSms';

export function parseKnotFaults(spec: string): KnotFaults {
  const f: KnotFaults = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(rate429|error503|latency)=(\d{1,7})(ms)?$/.exec(part);
    if (!m) throw usageError('BAD_FAULTS', `unknown Knot fault "${part.slice(0, 40)}"`, KNOT_FAULTS_HELP);
    const n = Number(m[2]);
    if (m[1] === 'rate429') f.rateLimitEvery = n;
    else if (m[1] === 'error503') f.serverErrorEvery = n;
    else f.latencyMs = n;
  }
  return f;
}

export async function serveKnotReplica(ctx: Context, o: SandboxServeOptions): Promise<number> {
  const faults = o.faults ? parseKnotFaults(o.faults) : {};
  // Fixed credentials from the environment keep the secret off the screen; otherwise a throwaway pair is made and shown.
  const fixed = Boolean(ctx.env.ORDERLINK_KNOT_REPLICA_CLIENT_ID && ctx.env.ORDERLINK_KNOT_REPLICA_SECRET);
  const clientId = fixed ? ctx.env.ORDERLINK_KNOT_REPLICA_CLIENT_ID! : `replica-${randomBytes(4).toString('hex')}`;
  const secret = fixed ? ctx.env.ORDERLINK_KNOT_REPLICA_SECRET! : randomBytes(16).toString('hex');
  const replica = await startKnotReplica({ port: o.port, seed: o.seed, transactions: o.orders, faults, clientId, secret });
  const io = ctx.io;
  if (ctx.json) {
    printJson(io, { url: replica.url, client_id: clientId, ...(fixed ? {} : { secret }), transactions_per_account: o.orders, seed: o.seed });
  } else {
    io.out(replica.url);
    io.err(`${io.errColor.green('●')} Knot replica (development environment) listening on ${replica.url}`);
    io.err(`  client id   ${clientId}`);
    io.err(fixed ? '  secret      from ORDERLINK_KNOT_REPLICA_SECRET' : `  secret      ${secret}   (a throwaway test secret for this replica only)`);
    io.err(`  data        ${o.orders} transactions per linked account, seed ${o.seed}; development login user_good_transactions`);
    if (o.faults) io.err(`  faults      ${o.faults}`);
    io.err('Set it up and link:');
    io.err(`  printf '%s\\n%s\\n' CLIENT_ID SECRET | orderlink connector setup knot --env development --base-url ${replica.url} --credentials-stdin`);
    io.err('  orderlink link knot --merchant walmart --sandbox && orderlink sync && orderlink orders');
    io.err('Press Ctrl-C to stop.');
  }
  return serveUntilInterrupted(ctx, replica, 'Knot replica');
}
