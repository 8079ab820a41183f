/**
 * argv wiring, separately from behaviour (changesets / gh style): every command parses its flags
 * into the typed options its run function receives. The app records instead of running.
 */
import { describe, expect, it } from 'vitest';
import { main, MANIFEST, type App } from '../src/cli.js';
import { captureIO } from '../src/ui/io.js';

async function parse(argv: string[]) {
  const calls: Array<{ name: string; options: unknown }> = [];
  const app: App = { run: async (name, options) => void calls.push({ name, options }) };
  const io = captureIO();
  const code = await main(argv, { io, app });
  return { code, calls, stderr: io.stderrText(), stdout: io.stdoutText() };
}

describe('argv wiring for every command', () => {
  const cases: Array<[string[], string, Record<string, unknown>]> = [
    [['link', 'sandbox', '--alias', 'work', '--base-url', 'http://127.0.0.1:4000', '--no-browser', '--timeout', '30'], 'link', { connector: 'sandbox', alias: 'work', baseUrl: 'http://127.0.0.1:4000', browser: false, timeoutSeconds: 30, manual: false, refreshTokenStdin: false }],
    [['link', 'sandbox', '--refresh-token-env', 'RT_VAR'], 'link', { refreshTokenEnv: 'RT_VAR', browser: true }],
    [['link', '--reconnect', 'sandbox:work', '--manual'], 'link', { reconnect: 'sandbox:work', manual: true }],
    [['link', 'plaid', '--env', 'sandbox', '--sandbox'], 'link', { connector: 'plaid', environment: 'sandbox', nonInteractive: true }],
    [['link', 'knot', '--merchant', 'walmart', '--client-id', 'abc'], 'link', { connector: 'knot', merchant: 'walmart', clientId: 'abc', nonInteractive: false }],
    [['connector', 'list'], 'connector', { kind: 'list' }],
    [['connector', 'show', 'sandbox'], 'connector', { kind: 'show', id: 'sandbox' }],
    [['connector', 'setup', 'plaid', '--env', 'sandbox', '--credentials-stdin'], 'connector', { kind: 'setup', id: 'plaid', environment: 'sandbox', credentialsStdin: true }],
    [['connections', '--all'], 'connections', { all: true }],
    [['connections', 'set', 'sandbox:work', '--every', '6h'], 'connections set', { connection: 'sandbox:work', every: '6h' }],
    [['sync', '--due'], 'sync', { due: true }],
    [['sync', '--accept-deletions', '--max-delete', '25'], 'sync', { acceptDeletions: true, maxDelete: 25 }],
    [['smoke', 'sandbox:ci', '--max-pages', '2', '--strict', '--junit', 'r.xml'], 'smoke', { targets: ['sandbox:ci'], maxPages: 2, strict: true, junit: 'r.xml' }],
    [['import', 'amazon', 'x.zip', '--alias', 'me', '--dry-run'], 'import', { connector: 'amazon', path: 'x.zip', alias: 'me', dryRun: true }],
    [['sync', 'a', 'b', '--full', '--concurrency', '2', '--dry-run', '--page-size', '50', '--max-pages', '3', '--wait', '10', '--since', '30d'], 'sync', { connections: ['a', 'b'], full: true, concurrency: 2, dryRun: true, pageSize: 50, maxPages: 3, wait: 10, since: '30d' }],
    [['sync'], 'sync', { connections: [], full: false, concurrency: 4, pageSize: 200, wait: 0 }],
    [['orders', '--retailer', 'Target', '--min', '10', '--max', '99.5', '--search', 'coffee beans', '--limit', '5', '--sort', 'total', '--csv'], 'orders', { retailer: ['Target'], min: 10, max: 99.5, search: 'coffee beans', limit: 5, sort: 'total', csv: true, pager: true }],
    [['orders', '--retailer', 'Target', '--retailer', 'Walmart', '--category', 'Home', '--category', 'Grocery', '--currency', 'usd', '--header', '--no-pager'], 'orders', { retailer: ['Target', 'Walmart'], category: ['Home', 'Grocery'], currency: 'USD', header: true, pager: false }],
    [['orders', 'stats', '--retailer', 'A', '--retailer', 'B', '--header', '--no-pager'], 'orders stats', { retailer: ['A', 'B'], header: true, pager: false }],
    [['charges', '--header', '--no-pager'], 'charges', { header: true, pager: false }],
    [['doctor', '--bundle', 'diag.json'], 'doctor', { bundle: 'diag.json' }],
    [['orders', 'show', 'SB-alice-000001'], 'orders show', { order: 'SB-alice-000001' }],
    [['charges', '--connection', 'plaid:card', '--since', '90d', '--merchant', 'walmart', '--pending', '--csv'], 'charges', { connection: ['plaid:card'], since: '90d', merchant: 'walmart', pending: true, csv: true }],
    [['orders', 'stats', '--by', 'retailer', '--top', '5', '--currency', 'USD'], 'orders stats', { by: 'retailer', top: 5, currency: 'USD' }],
    [['orders', 'stats', '--include-charges', '--since', '90d'], 'orders stats', { includeCharges: true, since: '90d' }],
    [['reconcile', '--since', '90d', '--dry-run', '--window', '-1..14', '--refund-window', '60', '--max-split', '3'], 'reconcile', { since: '90d', dryRun: true, window: { from: -1, to: 14 }, refundWindow: { from: 0, to: 60 }, maxSplit: 3 }],
    [['reconcile', '--confirm', '12', '--order', 'amazon:default:111-1'], 'reconcile', { confirm: 12, order: 'amazon:default:111-1' }],
    [['reconcile', '--reject', '7'], 'reconcile', { reject: 7 }],
    [['reconcile', '--review'], 'reconcile', { review: true }],
    [['reconcile', '--list', '--status', 'ambiguous,confirmed'], 'reconcile', { list: true, status: ['ambiguous', 'confirmed'] }],
    [['disconnect', 'sandbox:work', '--purge', '--yes'], 'disconnect', { connection: 'sandbox:work', purge: true, yes: true }],
    [['audit', '--since', '7d', '--action', 'token', '--connection', '2', '--limit', '10', '--verify'], 'audit', { since: '7d', action: 'token', connection: '2', limit: 10, verify: true }],
    [['doctor'], 'doctor', {}],
    [['vault', 'status'], 'vault status', {}],
    [['vault', 'rotate'], 'vault rotate', {}],
    [['vault', 'migrate', '--to', 'passphrase'], 'vault migrate', { to: 'passphrase' }],
    [['vault', 'recreate', '--yes'], 'vault recreate', { yes: true }],
    [['export', '--format', 'csv', '--items', '--connection', 'amazon:default', '--since', '1y', '--min', '5', '-o', 'o.csv', '--force', '--include-deleted'], 'export', { format: 'csv', items: true, connection: ['amazon:default'], since: '1y', min: 5, output: 'o.csv', force: true, includeDeleted: true }],
    [['export'], 'export', { items: false, force: false, includeDeleted: false }],
    [['purge', '--older-than', '2y', '--connection', 'work', '--dry-run'], 'purge', { olderThan: '2y', connection: ['work'], all: false, dryRun: true, yes: false }],
    [['purge', '--all', '--yes'], 'purge', { all: true, yes: true, dryRun: false }],
    [['purge', '--set-retention', 'off'], 'purge', { setRetention: 'off', all: false }],
    [['profiles'], 'profiles', { kind: 'list' }],
    [['profiles', 'show', 'work'], 'profiles show', { kind: 'show', name: 'work' }],
    [['profiles', 'delete', 'old', '--yes'], 'profiles delete', { kind: 'delete', name: 'old', yes: true }],
    [['backup', 'b.db', '--with-vault', '--force'], 'backup', { file: 'b.db', withVault: true, force: true }],
    [['backup', 'b.db'], 'backup', { file: 'b.db', withVault: false, force: false }],
    [['sandbox', 'serve', '--port', '4010', '--orders', '1000', '--seed', '7', '--faults', 'latency=5ms', '--auto-consent'], 'sandbox serve', { port: 4010, orders: 1000, seed: 7, faults: 'latency=5ms', autoConsent: true }],
    [['sandbox', 'serve', '--provider', 'plaid', '--orders', '100000'], 'sandbox serve', { provider: 'plaid', orders: 100000 }],
    [['sandbox', 'serve', '--provider', 'knot'], 'sandbox serve', { provider: 'knot' }],
    [['sandbox', 'serve', '--provider', 'amazon-seller', '--rate-plan', 'searchOrders=5:15', '--faults', 'drain=searchOrders'], 'sandbox serve', { provider: 'amazon-seller', ratePlan: 'searchOrders=5:15', faults: 'drain=searchOrders' }],
    [['sandbox', 'serve', '--provider', 'shopify', '--accounts', '2', '--orders', '40'], 'sandbox serve', { provider: 'shopify', accounts: 2, orders: 40 }],
    [['demo', '--orders', '50'], 'demo', { orders: 50, seed: 42 }],
    [['demo', '--keep'], 'demo', { orders: 300, seed: 42, keep: true }],
    [['completion', 'zsh'], 'completion', { shell: 'zsh' }],
    [['--json', '--home', '/tmp/x', 'connections'], 'connections', { all: false }],
    [['connections', '--json', '--profile', 'work'], 'connections', { all: false }],
  ];
  for (const [argv, name, expected] of cases) {
    it(`${argv.join(' ')}`, async () => {
      const r = await parse(argv);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.calls).toHaveLength(1);
      expect(r.calls[0]!.name).toBe(name);
      expect(r.calls[0]!.options).toMatchObject(expected);
    });
  }

  it('covers every command in the manifest', () => {
    const covered = new Set(cases.map(([, name]) => name.split(' ')[0]));
    expect([...covered].sort()).toEqual(MANIFEST.map((m) => m.name).sort());
  });

  const usage: Array<[string[], RegExp]> = [
    [['sync', '--concurrency', 'lots'], /--concurrency must be a whole number/],
    [['orders', '--min', 'ten'], /--min/],
    [['orders', '--since', '2026-02-30'], /2026-02-30 is not a date in the calendar/],
    [['orders', '--until', '2026-13-01'], /2026-13-01 is not a date in the calendar/],
    [['orders', '--since', '2026-13'], /2026-13 is not a date in the calendar/],
    [['orders', '--currency', 'dollars'], /--currency expects an ISO 4217 code/],
    [['charges', '--since', '2026-02-30'], /--since expects a day/],
    [['vault', 'migrate', '--to', 'floppy'], /--to must be one of/],
    [['link', 'sandbox', '--refresh-token-env', 'eyJhbGciOi.secret.value'], /NAME of an environment variable/],
    [['nosuchcommand'], /unknown command/],
    [['audit', '--limit', '0'], /--limit/],
    [['reconcile', '--window', '20..3'], /--window expects days/],
    [['reconcile', '--confirm', 'x'], /--confirm/],
    [['--profile', '../evil', 'connections'], /invalid profile name/],
    [['export', '--format', 'xml'], /--format must be one of csv, json, ndjson, sqlite/],
    [['sandbox', 'serve', '--provider', 'ebay'], /--provider must be sandbox, plaid, knot, amazon-seller or shopify/],
    [['sandbox', 'serve', '--provider', 'knot', '--rate-plan', 'searchOrders=1:1'], /--rate-plan is for --provider amazon-seller/],
  ];
  for (const [argv, message] of usage) {
    it(`usage error: ${argv.join(' ')}`, async () => {
      const io = captureIO();
      const code = await main(argv, { io, app: { run: async (_n, _o, fn) => void (await fn({} as never, _o)) } });
      expect(code).toBe(2);
      expect(io.stderrText()).toMatch(message);
      expect(io.stderrText()).not.toMatch(/\n\s+at /); // never a stack trace
    });
  }

  it('--help for the program and every command exits 0 without opening anything', async () => {
    for (const argv of [['--help'], ...MANIFEST.map((m) => [m.name, '--help'])]) {
      const r = await parse(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.calls).toHaveLength(0);
      expect(r.stdout).toMatch(/Usage: orderlink/);
    }
  });

  it('every command and subcommand documents examples in --help', async () => {
    const sub = ['orders show', 'orders stats', 'vault status', 'vault rotate', 'vault migrate', 'sandbox serve', 'profiles show', 'profiles delete'];
    for (const c of [...MANIFEST.map((m) => m.name), ...sub]) {
      const r = await parse([...c.split(' '), '--help']);
      expect(r.stdout, c).toMatch(/Examples:/);
    }
  });
});
