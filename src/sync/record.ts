/**
 * `orderlink sync NAME --record DIR`: the raw pages a connector fetched, saved for offline replay
 * (`orderlink connector test NAME --replay DIR`). Each page is saved AFTER the policy layer — the
 * allow-list and card scrubbing — so a recording holds exactly what the mapping may read: no
 * payment field, no address, and never a token, a cursor or a URL (those are not records).
 * Files are 0600 in a 0700 folder, written exclusively.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connector } from '../connectors/types.js';
import { usageError } from '../errors.js';
import { applyPolicy } from '../policy/index.js';

export function prepareRecordDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).some((n) => /^page-\d+\.json$/.test(n))) {
    throw usageError('RECORD_DIR_NOT_EMPTY', `${dir} already holds recorded pages`, 'Record into a new folder (or delete the old pages) so two runs never mix.');
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** The connector, with every fetched page also written to DIR as page-0001.json, page-0002.json, … */
export function recordingConnector(c: Connector, dir: string): Connector {
  if (!c.fetchOrders) return c;
  const inner = c.fetchOrders.bind(c);
  let n = 0;
  return {
    ...c,
    async fetchOrders(args) {
      const page = await inner(args);
      n++;
      const records = page.records.map((r) => applyPolicy(r, c.allowList, c.freeText));
      writeFileSync(join(dir, `page-${String(n).padStart(4, '0')}.json`), `${JSON.stringify({ v: 1, connector: c.id, page: n, hasMore: page.hasMore, records }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      return page;
    },
  };
}
