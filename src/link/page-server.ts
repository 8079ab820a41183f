/**
 * Serving a provider's page (e.g. one that runs Knot's web SDK) from the loopback listener and
 * waiting for the one result it posts back — `HostedLinkArgs.servePage`. The same rules as the
 * OAuth callback listener (src/oauth/loopback.ts; SECURITY.md rules 1, 2, 5, 6):
 *
 * - 127.0.0.1 only, an OS-assigned port, IPv4 literal, opened for this flow and closed when it
 *   ends (result, timeout, Ctrl-C, too many bad requests);
 * - the page lives at a random path (256 bits): `/link/<token>`; the result goes to
 *   `/link/<token>/result` — the token is this flow's `state`, compared in constant time;
 * - every request whose `Host` is not exactly `127.0.0.1:<port>` is refused (DNS rebinding);
 * - a result must be a same-origin `POST` with `Content-Type: application/json` (a cross-site
 *   page cannot send that without a preflight we never answer), a small JSON object of strings;
 * - one result is accepted; anything after it gets "already answered" and the port closes;
 * - nothing from a request is ever echoed: every answer is fixed text;
 * - wrong requests get a fixed page and do not end the flow, up to a budget.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrderlinkError } from '../errors.js';
import { LOOPBACK_IP, DEFAULT_MAX_BAD_REQUESTS } from '../oauth/loopback.js';

export interface ServePageOptions {
  html: string;
  timeoutMs: number;
  signal: AbortSignal;
  trace?: (line: string) => void;
  maxBadRequests?: number;
}

export interface ServedPage {
  url: string;
  port: number;
  /** The one result the page posted; rejects on timeout, Ctrl-C or too many bad requests. */
  result: Promise<Record<string, string>>;
  close(): Promise<void>;
}

const RESULT_MAX_BYTES = 4096;
const RESULT_MAX_KEYS = 10;
const RESULT_MAX_VALUE = 200;

const BASE_HEADERS = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  Connection: 'close',
} as const;

// Fixed answers: nothing from the request reaches them (rule 6).
const FIXED = {
  bad: { status: 400, text: 'This address only accepts the page of a sign-in that orderlink started. Nothing happened.' },
  not_found: { status: 404, text: 'There is nothing here.' },
  method: { status: 405, text: 'Method not allowed.' },
  unsupported: { status: 415, text: 'Expected a JSON result.' },
  too_large: { status: 413, text: 'Result too large.' },
  done: { status: 409, text: 'This sign-in has already been answered. You can close this tab.' },
  accepted: { status: 200, text: 'orderlink received the result. You can close this tab and return to the terminal.' },
} as const;
type Fixed = keyof typeof FIXED;

function send(res: ServerResponse, kind: Fixed, extra: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const { status, text } = FIXED[kind];
  const body = JSON.stringify({ message: text });
  res.writeHead(status, { ...BASE_HEADERS, ...extra, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A JSON object of at most 10 short string values with a known `event`, or null. */
export function parseResult(text: string): Record<string, string> | null {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return null;
  const entries = Object.entries(j as Record<string, unknown>);
  if (entries.length === 0 || entries.length > RESULT_MAX_KEYS) return null;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) {
    if (!/^[a-z][a-z_]{0,39}$/.test(k) || typeof v !== 'string' || v.length > RESULT_MAX_VALUE) return null;
    out[k] = v.replace(/[^\x20-\x7e]/g, ' ');
  }
  return out.event === 'success' || out.event === 'error' || out.event === 'exit' ? { ...out } : null;
}

export async function servePage(o: ServePageOptions): Promise<ServedPage> {
  const trace = o.trace ?? (() => {});
  const maxBad = o.maxBadRequests ?? DEFAULT_MAX_BAD_REQUESTS;
  if (o.signal.aborted) throw new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' });
  const server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000, maxHeaderSize: 16_384 });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK_IP, port: 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  if (addr.address !== LOOPBACK_IP) {
    server.close();
    throw new OrderlinkError('LISTENER_FAILED', 'the loopback listener did not bind to 127.0.0.1', { hint: 'Check the loopback interface of this computer.' });
  }
  const port = addr.port;
  const host = `${LOOPBACK_IP}:${port}`;
  const origin = `http://${host}`;
  const token = randomBytes(32).toString('base64url');
  const pagePath = `/link/${token}`;
  const resultPath = `${pagePath}/result`;

  let phase: 'waiting' | 'accepted' | 'closed' = 'waiting';
  let bad = 0;
  let resolveR!: (r: Record<string, string>) => void;
  let rejectR!: (e: OrderlinkError) => void;
  const result = new Promise<Record<string, string>>((res, rej) => {
    resolveR = res;
    rejectR = rej;
  });
  result.catch(() => {}); // the flow awaits it; this only keeps an early rejection from being "unhandled"

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      phase = 'closed';
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      trace(`page listener on port ${port} closed`);
    })());
  const fail = (e: OrderlinkError): void => {
    if (phase !== 'waiting') return;
    rejectR(e);
    void close();
  };
  const timer = setTimeout(() => {
    fail(new OrderlinkError('LINK_TIMEOUT', `no answer from the login page within ${Math.round(o.timeoutMs / 1000)} s`, { hint: 'Nothing was saved. Run the command again (open the printed address in a browser that can reach this computer), or give more time with --timeout SECONDS.' }));
  }, o.timeoutMs);
  const onAbort = (): void => fail(new OrderlinkError('INTERRUPTED', 'interrupted', { kind: 'interrupted' }));
  o.signal.addEventListener('abort', onAbort, { once: true });

  const refuse = (res: ServerResponse, kind: Fixed, why: string, extra?: Record<string, string>): void => {
    bad++;
    trace(`page listener: ignored a request (${why}); still waiting`);
    send(res, kind, extra);
    if (bad >= maxBad) {
      fail(new OrderlinkError('TOO_MANY_BAD_REQUESTS', `stopped waiting: the loopback listener received ${bad} requests that were not the login page's`, { hint: "Another program on this computer is sending requests to orderlink's port. Nothing was stored; try again." }));
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host !== host) return req.resume(), refuse(res, 'bad', 'unexpected Host header');
    const target = req.url ?? '';
    const path = target.split('?')[0]!;
    const isPage = path.length === pagePath.length && same(path, pagePath);
    const isResult = path.length === resultPath.length && same(path, resultPath);
    if (!isPage && !isResult) return req.resume(), refuse(res, 'not_found', 'another path');
    if (phase !== 'waiting') return req.resume(), send(res, 'done');
    if (isPage) {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 'method', 'page: not GET', { Allow: 'GET' });
      const body = o.html;
      res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "frame-ancestors 'none'; base-uri 'none'; form-action 'none'", 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (req.method !== 'POST') return req.resume(), refuse(res, 'method', 'result: not POST', { Allow: 'POST' });
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ctype !== 'application/json') return req.resume(), refuse(res, 'unsupported', 'result: not JSON');
    const from = req.headers.origin;
    if (from !== undefined && from !== origin) return req.resume(), refuse(res, 'bad', 'result: another origin');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return req.resume(), refuse(res, 'bad', 'result: cross-site');
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > RESULT_MAX_BYTES) over = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (over) return refuse(res, 'too_large', 'result: too large');
      const r = parseResult(Buffer.concat(chunks).toString('utf8'));
      if (!r) return refuse(res, 'bad', 'result: not a result');
      if (phase !== 'waiting') return send(res, 'done');
      phase = 'accepted';
      res.once('finish', () => void close());
      res.once('close', () => void close());
      send(res, 'accepted');
      trace(`page listener: result received (${r.event})`);
      resolveR(r);
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  trace(`page listener on ${host} (OS-assigned port)`);
  return { url: `${origin}${pagePath}`, port, result, close };
}
