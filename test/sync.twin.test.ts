/**
 * One account linked twice, caught by its orders (src/sync/twin.ts), on a real SQLite store: only
 * for connectors whose order ids are unique across accounts, only on a connection's first sync,
 * never against a revoked connection or one of another connector. The end-to-end case (the same
 * SP-API seller linked with a second refresh token) is in test/amazon-seller.e2e.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Connector } from '../src/connectors/types.js';
import { Store } from '../src/store/index.js';
import { TwinCheck } from '../src/sync/twin.js';
import type { PageWrite } from '../src/store/index.js';
import { oneItemOrder } from './helpers/orders.js';
import { tempDbFiles } from './helpers/seeded.js';

const tmpFile = tempDbFiles('orderlink-twin-');
const stores: Store[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

const GLOBAL = { globalOrderIds: true } as Connector;
const LOCAL = {} as Connector;

function setup() {
  const path = tmpFile();
  const store = Store.open(path, 'default');
  stores.push(store);
  const conn = (alias: string, connector = 'amazon-seller') =>
    store.connections.insert({ connector, retailer: '*', alias, providerType: 'direct', tokenRef: null, scopes: '', accountLabel: null, baseUrl: null });
  const write = (connectionId: number, ids: string[]): PageWrite => ({
    connectionId, orders: ids.map((orderId) => oneItemOrder({ orderId, orderDate: '2026-03-01T10:00:00.000Z', total: 1000 })), tombstones: [], cursor: null, runRowId: null, fetched: ids.length, errors: 0, now: '2026-05-01T00:00:00.000Z',
  });
  const commit = (w: PageWrite) => store.orderWriter().commitPage(w);
  return { store, conn, write, commit };
}

describe('TwinCheck', () => {
  it("refuses a first page holding an order another live connection of the connector already has, naming it", () => {
    const { store, conn, write, commit } = setup();
    const first = conn('one');
    commit(write(first.id, ['111-0000001-0000001', '111-0000001-0000002']));
    const second = conn('two');
    const check = new TwinCheck(store, second, GLOBAL);
    // Different orders (another seller): fine; one shared order among new ones: the same seller.
    expect(() => check.check([write(second.id, ['111-0000009-0000001'])])).not.toThrow();
    let err: unknown;
    try {
      check.check([write(second.id, ['111-0000009-0000002']), write(second.id, ['111-0000001-0000002'])]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ACCOUNT_ALREADY_LINKED', kind: 'usage', details: { connection: second.id, twin: first.id } });
    expect((err as Error).message).toContain(`(connection ${first.id})`);
  });

  it('looks through pages of any size (ids in chunks)', () => {
    const { store, conn, write, commit } = setup();
    const first = conn('one');
    commit(write(first.id, ['LAST-ONE']));
    const second = conn('two');
    const ids = Array.from({ length: 1_234 }, (_, i) => `NEW-${i}`).concat('LAST-ONE');
    expect(() => new TwinCheck(store, second, GLOBAL).check([write(second.id, ids)])).toThrow(/already holds/);
  });

  it('stays out of the way: order ids not global, a connection that already holds orders, a revoked twin, another connector', () => {
    const { store, conn, write, commit } = setup();
    const first = conn('one');
    commit(write(first.id, ['1001']));
    const second = conn('two');
    // Per-shop order numbers (a generic connector): two shops may both have order 1001.
    expect(() => new TwinCheck(store, second, LOCAL).check([write(second.id, ['1001'])])).not.toThrow();
    // Another connector's orders never count.
    const other = conn('three', 'shopify');
    expect(() => new TwinCheck(store, other, GLOBAL).check([write(other.id, ['1001'])])).not.toThrow();
    // A connection past its first sync was checked then.
    commit(write(second.id, ['2001']));
    expect(() => new TwinCheck(store, second, GLOBAL).check([write(second.id, ['1001'])])).not.toThrow();
    // A revoked connection's kept orders do not block relinking the account.
    store.connections.update(first.id, { status: 'revoked' });
    const fourth = conn('four');
    expect(() => new TwinCheck(store, fourth, GLOBAL).check([write(fourth.id, ['1001'])])).not.toThrow();
  });
});
