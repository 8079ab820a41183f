/**
 * Plaid end-to-end fixtures: the replica as a real HTTP server on 127.0.0.1, a temporary home
 * whose Plaid app credentials were set up through the binary (`connector setup --credentials-stdin`,
 * `--base-url` pointing at the replica), and an Item linked through the binary (`link --sandbox`).
 */
import { expect } from 'vitest';
import { startPlaidReplica, type PlaidReplica, type PlaidReplicaOptions } from '../../src/sandbox/replicas/plaid.js';
import { e2eHome, type E2EHome } from './e2e.js';

export interface PlaidHome {
  h: E2EHome;
  replica: PlaidReplica;
  itemId: string;
  accessToken: string;
  /** `charges --json` through the binary. */
  charges(args?: string[]): Promise<Array<{ transaction_id: string; amount: string; amount_minor: number; pending: boolean; pending_transaction_id: string | null; merchant: string; date: string; currency: string }>>;
  /** The replica's transactions, as the same `transaction_id → amount_minor` pairs, sorted. */
  truth(): Array<[string, number]>;
  mine(): Promise<Array<[string, number]>>;
}

export const FAST = { ORDERLINK_RETRY_BASE_MS: '10' };

export async function plaidReplica(opts: PlaidReplicaOptions = {}): Promise<PlaidReplica> {
  return startPlaidReplica({ transactions: 300, pending: 3, seed: 42, ...opts });
}

export async function setupPlaid(h: E2EHome, replica: PlaidReplica): Promise<void> {
  const r = await h.cli(['connector', 'setup', 'plaid', '--env', 'sandbox', '--base-url', replica.url, '--credentials-stdin'], { stdin: `${replica.clientId}\n${replica.secret}\n` });
  expect(r.code, r.stderr).toBe(0);
}

export async function linkedPlaid(replica: PlaidReplica, env: NodeJS.ProcessEnv = {}): Promise<PlaidHome> {
  const h = e2eHome({ ...FAST, ...env });
  await setupPlaid(h, replica);
  const before = new Set(replica.items().map((i) => i.itemId));
  const r = await h.cli(['--json', 'link', 'plaid', '--sandbox']);
  expect(r.code, r.stderr).toBe(0);
  const item = replica.items().find((i) => !before.has(i.itemId))!;
  const charges: PlaidHome['charges'] = async (args = []) => {
    const c = await h.cli(['--json', 'charges', ...args]);
    expect(c.code, c.stderr).toBe(0);
    return JSON.parse(c.stdout);
  };
  return {
    h, replica, itemId: item.itemId, accessToken: item.accessToken, charges,
    truth: () => replica.live(item.itemId).map((t) => [t.id, t.cents] as [string, number]).sort(([a], [b]) => a.localeCompare(b)),
    mine: async () => (await charges()).map((c) => [c.transaction_id, c.amount_minor] as [string, number]).sort(([a], [b]) => a.localeCompare(b)),
  };
}

/** Play the browser on the replica's Hosted Link page: open it, log in as user_good. */
export async function completeHostedLink(url: string, login = { username: 'user_good', password: 'pass_good' }): Promise<number> {
  const page = await fetch(url);
  const html = await page.text();
  const token = /name="form_token" value="([0-9a-f]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no form on the Hosted Link page (HTTP ${page.status})`);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ form_token: token, ...login, action: 'submit' }).toString() });
  await res.text();
  return res.status;
}

/** Watch a child's stderr for the Hosted Link URL it prints, and complete the session there. */
export function onHostedLinkUrl(seen: { done?: Promise<number> }) {
  return (child: import('node:child_process').ChildProcess) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/hl\/[A-Za-z0-9_-]+)/.exec(err);
      if (m && !seen.done) seen.done = completeHostedLink(m[1]!);
    });
  };
}
