/**
 * The retention hook run at the end of every (non-dry-run) sync, under the sync lock: when the
 * profile has a retention setting (`orderlink purge --set-retention 2y`), orders older than it
 * are purged (audited as `purge`, reason "retention"). Off by default: then it is one `meta` read.
 * A failure here never turns a good sync into a failed one: it is reported on stderr and audited
 * by the next successful run instead.
 */
import type { Context } from '../context.js';
import { mapError } from '../errors.js';
import { applyRetention, totals } from '../store/purge.js';

export async function retentionAfterSync(ctx: Context): Promise<void> {
  try {
    const r = applyRetention(ctx.store(), ctx.now(), (detail) => ctx.audit('purge', null, detail));
    if (!r || r.counts.length === 0) return;
    const t = totals(r.counts);
    ctx.trace(`retention ${r.span}: purged ${t.orders} orders and ${t.charges} charges before ${r.before}${r.vacuumed ? ', vacuumed' : ''}`);
    if (!ctx.json) ctx.io.err(`Retention (${r.span}): deleted ${t.orders} order${t.orders === 1 ? '' : 's'}${t.charges ? ` and ${t.charges} charge${t.charges === 1 ? '' : 's'}` : ''} placed before ${r.before.slice(0, 10)} (\`orderlink purge --set-retention off\` keeps everything).`);
  } catch (err) {
    const m = mapError(err);
    ctx.io.err(`${ctx.io.errColor.yellow('!')} the retention setting could not be applied this time (${m.code}): ${m.message}. Nothing was deleted; the next sync tries again.`);
  }
}
