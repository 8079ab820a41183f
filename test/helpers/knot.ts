/**
 * Knot test fixtures: the replica on 127.0.0.1 with a canary secret, `connector setup knot`
 * through the real binary, and a "browser" that runs the page orderlink serves — its inline
 * script and the SDK it loads (the replica's stand-in) — in a node:vm context with a real fetch,
 * sending the Origin header a browser sends. No browser binary is needed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { startKnotReplica, type KnotReplicaHandle, type KnotReplicaOptions } from '../../src/sandbox/replicas/knot.js';
import type { E2EHome } from './e2e.js';

export const KNOT_CLIENT_ID = 'knot-client-e2e';
/** Must never appear anywhere but the vault. */
export const KNOT_SECRET_CANARY = 'CANARY-knot-secret-7f3a9c1e5d';

export function knotReplica(o: KnotReplicaOptions = {}): Promise<KnotReplicaHandle> {
  return startKnotReplica({ clientId: KNOT_CLIENT_ID, secret: KNOT_SECRET_CANARY, ...o });
}

/** `orderlink connector setup knot --env development --base-url URL --credentials-stdin`. */
export async function setupKnot(h: E2EHome, replica: KnotReplicaHandle, secret = KNOT_SECRET_CANARY): Promise<void> {
  const r = await h.cli(['connector', 'setup', 'knot', '--env', 'development', '--base-url', replica.url, '--credentials-stdin'], { stdin: `${KNOT_CLIENT_ID}\n${secret}\n` });
  if (r.code !== 0) throw new Error(`setup failed (${r.code}): ${r.stderr}`);
}

export interface PageVisit {
  html: string;
  headers: Headers;
  sdkUrl: string;
  /** The result POST's status, as the page's own fetch saw it. */
  resultStatus: number;
  events: string[];
}

/** Open the served page like a browser: fetch it, load its SDK, run its inline script, wait for its result POST. */
export async function visitKnotPage(pageUrl: string, opts: { timeoutMs?: number } = {}): Promise<PageVisit> {
  const page = await fetch(pageUrl);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`page answered ${page.status}`);
  const cfg = /<script id="orderlink-knot-config" type="application\/json" nonce="[^"]+">([^<]*)<\/script>/.exec(html)?.[1];
  const sdkUrl = /<script src="([^"]+)" nonce="[^"]+"><\/script>/.exec(html)?.[1]?.replace(/&#38;/g, '&');
  const inline = [...html.matchAll(/<script nonce="[^"]+">([\s\S]*?)<\/script>/g)].at(-1)?.[1];
  if (!cfg || !sdkUrl || !inline) throw new Error('the page does not have its config, SDK and script');
  const sdk = await (await fetch(sdkUrl)).text();
  const origin = new URL(pageUrl).origin;
  const events: string[] = [];
  let resultStatus = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const status = { textContent: '' };
  const browserFetch = async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, pageUrl);
    const headers = new Headers(init.headers);
    if ((init.method ?? 'GET') !== 'GET') headers.set('origin', origin);
    const res = await fetch(url, { ...init, headers });
    if (url.origin === origin) {
      resultStatus = res.status;
      events.push(`result ${res.status}`);
      setTimeout(done, 10);
    }
    return res;
  };
  const window: Record<string, unknown> = {
    fetch: browserFetch,
    URL,
    JSON,
    location: { href: pageUrl, pathname: new URL(pageUrl).pathname, origin },
    document: {
      currentScript: { src: sdkUrl },
      getElementById: (id: string) => (id === 'orderlink-knot-config' ? { textContent: cfg } : status),
    },
  };
  window.window = window;
  runInNewContext(sdk, window);
  (window.document as { currentScript: unknown }).currentScript = null;
  runInNewContext(inline, window);
  const t = setTimeout(done, opts.timeoutMs ?? 10_000);
  await finished;
  clearTimeout(t);
  return { html, headers: page.headers, sdkUrl, resultStatus, events };
}

/** Watch a child's stderr for the page URL orderlink prints. */
export function onPageUrl(child: import('node:child_process').ChildProcess, visit: (url: string) => void): void {
  let err = '';
  let seen = false;
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const m = /(http:\/\/127\.0\.0\.1:\d+\/link\/[A-Za-z0-9_-]+)/.exec(err);
    if (m && !seen) {
      seen = true;
      visit(m[1]!);
    }
  });
}

/** The recorded Knot payloads (src/connectors/knot/fixtures), as the raw records fetchOrders yields: each transaction with its page's merchant. */
export function knotFixtures(): Array<{ name: string; records: unknown[] }> {
  const dir = new URL('../../src/connectors/knot/fixtures/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'sync_request.json' && f !== 'credential.json' && !f.includes('_built-from-'))
    .sort()
    .map((name) => {
      const j = JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as { merchant?: { id: number; name: string }; transactions?: unknown[] };
      const merchant = j.merchant ?? { id: 4, name: 'Walmart' }; // the transaction-object excerpt names none
      const txs = j.transactions ?? [j];
      return { name, records: txs.map((t) => ({ ...(t as object), merchant })) };
    });
}
