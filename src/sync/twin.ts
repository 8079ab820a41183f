/**
 * One account linked twice, caught by its orders. `link` refuses a second connection to an
 * account it can name (the connector's profile endpoint, link/index.ts), but some providers say
 * nothing about whose grant a token is: LWA tells a self-authorized SP-API app no seller id. Where
 * order ids are unique across the provider's accounts (Connector.globalOrderIds), an order id that
 * another live connection of the same connector already holds proves the same account: the first
 * sync of the new connection stops before its first write, so no order is ever counted twice,
 * and says which connection already has them.
 */
import type { Connector } from '../connectors/types.js';
import { OrderlinkError } from '../errors.js';
import { connectionHandle, type Connection, type PageWrite, type Store } from '../store/index.js';

export class TwinCheck {
  private readonly others: Connection[];

  constructor(
    private readonly store: Store,
    private readonly conn: Connection,
    connector: Connector,
  ) {
    // Only for a first sync: a connection that already holds orders has passed this check before.
    const fresh = connector.globalOrderIds === true && store.db.prepare('SELECT 1 FROM orders WHERE connection_id = ? LIMIT 1').get(conn.id) === undefined;
    this.others = fresh ? store.connections.list().filter((c) => c.id !== conn.id && c.connector === conn.connector && c.status !== 'revoked') : [];
  }

  /** Throws ACCOUNT_ALREADY_LINKED when a page's orders belong to another live connection. */
  check(writes: readonly PageWrite[]): void {
    if (this.others.length === 0) return;
    const ids = writes.flatMap((w) => w.orders.map((o) => o.orderId));
    if (ids.length === 0) return;
    for (const twin of this.others) {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const hit = this.store.db.prepare(`SELECT 1 FROM orders WHERE connection_id = ? AND order_id IN (${chunk.map(() => '?').join(', ')}) LIMIT 1`).get(twin.id, ...chunk);
        if (hit === undefined) continue;
        throw new OrderlinkError('ACCOUNT_ALREADY_LINKED', `${connectionHandle(this.conn)} is the account ${connectionHandle(twin)} (connection ${twin.id}) already holds: its orders are the same orders`, {
          kind: 'usage',
          hint: `Nothing of it was saved, so no order is counted twice. Keep the existing connection and remove this one: orderlink disconnect ${this.conn.id}`,
          details: { connection: this.conn.id, twin: twin.id },
        });
      }
    }
  }
}
