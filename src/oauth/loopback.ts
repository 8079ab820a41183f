/**
 * The loopback redirect listener (RFC 8252 §7.3, §8.3; RFC 9700 §2.6; SECURITY.md rules 1, 2,
 * 5, 6). It is transport only: it answers anything that is not *the* callback with a fixed page
 * and keeps waiting, and hands the one callback whose `state` matches to the flow, which validates
 * it with oauth4webapi before any exchange (STYLE.md #13).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OrderlinkError } from '../errors.js';
import { oauthError } from './errors.js';

/** The IP literal, never "localhost" (RFC 8252 §8.3: a name may resolve elsewhere, or to ::1). */
export const LOOPBACK_IP = '127.0.0.1';

/** After this many requests that are not the expected callback, the flow stops (rule 5). */
export const DEFAULT_MAX_BAD_REQUESTS = 50;

export type PageKind = 'success' | 'denied' | 'failed';

export interface AcceptedCallback {
  /** The callback URL as requested. It carries the authorization code: never print or log it. */
  readonly url: URL;
  /** Answer the browser with one of the fixed pages; resolves once the page is written. */
  respond(kind: PageKind): Promise<void>;
}

export interface LoopbackListener {
  readonly port: number;
  /** `http://127.0.0.1:{port}{redirectPath}` — sent byte for byte in both requests (rule 1). */
  readonly redirectUri: string;
  /** The first callback with the right state; rejects when the bad-request budget runs out. */
  readonly callback: Promise<AcceptedCallback>;
  /** Stop listening and drop every connection; idempotent; resolves when the port is closed. */
  close(): Promise<void>;
}

export interface LoopbackOptions {
  redirectPath: string;
  expectedState: string;
  maxBadRequests?: number;
  trace?: (line: string) => void;
  /** A fixed port for providers that match redirect URIs exactly; default 0 (OS-assigned). */
  port?: number;
}

/**
 * RFC 8252 §7.3 / SECURITY.md rule 1: the path names the provider and the flow; it is a plain
 * absolute path (no query, fragment, dot segments or percent-encoding) so that the string we
 * register, send and compare is one unambiguous byte sequence.
 */
export function assertRedirectPath(path: string): void {
  if (!/^(\/[A-Za-z0-9_~-][A-Za-z0-9_.~-]*)+$/.test(path) || /\/\.\.?(\/|$)/.test(path)) {
    throw oauthError('OAUTH_BAD_REDIRECT_PATH', `the connector's redirect path "${path.slice(0, 60)}" is not a plain path such as /callback/sandbox`, { kind: 'usage' });
  }
}

/** RFC 6749 §10.12, RFC 9700 §4.7: exactly one `state`, equal to ours, compared in constant time. */
export function stateMatches(params: URLSearchParams, expected: string): boolean {
  const values = params.getAll('state');
  if (values.length !== 1) return false;
  const got = Buffer.from(values[0]!, 'utf8');
  const want = Buffer.from(expected, 'utf8');
  return got.length === want.length && timingSafeEqual(got, want);
}

// Fixed pages: nothing from the request ever reaches them (rule 6), so there is nothing to escape.
const PAGES: Record<PageKind | 'bad' | 'not_found' | 'method' | 'done', { status: number; title: string; text: string }> = {
  success: { status: 200, title: 'Linked', text: 'orderlink received the approval. You can close this tab and return to the terminal.' },
  denied: { status: 200, title: 'Not linked', text: 'Access was not granted, so nothing was linked. You can close this tab.' },
  failed: { status: 400, title: 'Not linked', text: 'Linking did not complete and nothing was stored. The terminal says why; you can close this tab.' },
  bad: { status: 400, title: 'Bad request', text: 'This address only accepts the answer to a sign-in that orderlink started. Nothing happened.' },
  not_found: { status: 404, title: 'Not found', text: 'There is nothing here.' },
  method: { status: 405, title: 'Method not allowed', text: 'There is nothing here.' },
  done: { status: 400, title: 'Already answered', text: 'This sign-in has already been answered. You can close this tab.' },
};

const SECURITY_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  // Rule 6: the callback URL holds a code; keep it out of caches and history (RFC 9700 §4.3) and
  // out of Referer headers (§4.2).
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
  // One request per connection: nothing lingers once the flow closes the port.
  Connection: 'close',
} as const;

/** The page the browser shows after the redirect (RFC 8252 §7.3), fixed text only. */
function render(kind: keyof typeof PAGES): { status: number; body: string } {
  const p = PAGES[kind];
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>orderlink — ${p.title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><h1>${p.title}</h1><p>${p.text}</p></body></html>`;
  return { status: p.status, body };
}

/** Answer one request (RFC 8252 §7.3, RFC 9700 §4.2.4: no Referer leak of the callback URL). */
function send(res: ServerResponse, kind: keyof typeof PAGES, extra: Record<string, string> = {}): Promise<void> {
  const { status, body } = render(kind);
  return new Promise<void>((resolve) => {
    if (res.writableEnded || res.destroyed) return resolve();
    const done = (): void => {
      clearTimeout(cap);
      resolve();
    };
    // A browser that never reads must not hold the flow open.
    const cap = setTimeout(done, 2000);
    cap.unref();
    res.once('finish', done);
    res.once('close', done);
    res.writeHead(status, { ...SECURITY_HEADERS, ...extra, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}

/** RFC 8252 §7.3: ask the OS for a free port on 127.0.0.1 (for --manual, where nothing listens). */
export async function reservePort(): Promise<number> {
  const l = await startServer(0);
  const port = l.port;
  await new Promise<void>((resolve) => l.server.close(() => resolve()));
  return port;
}

/** A fixed redirect port (`--redirect-port`, a descriptor's `redirectPort`): 1024–65535. */
export function assertRedirectPort(port: number): void {
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw oauthError('OAUTH_BAD_REDIRECT_PORT', `the redirect port must be a whole number from 1024 to 65535 (got ${String(port).slice(0, 12)})`, { kind: 'usage' });
  }
}

/**
 * RFC 8252 §7.3 / §8.3: listen on the loopback IP literal, IPv4 only, nothing else. Port 0 (the
 * OS picks) unless the provider matches redirect URIs exactly, against §7.3's "any port" rule:
 * then the port the person registered, and a port in use is a usage error that says so.
 */
async function startServer(port: number): Promise<{ server: ReturnType<typeof createServer>; port: number }> {
  const server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000, maxHeaderSize: 16_384 });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE' && port !== 0) {
        return reject(
          oauthError('OAUTH_REDIRECT_PORT_IN_USE', `the redirect port ${port} is in use on 127.0.0.1`, {
            kind: 'usage',
            hint: 'Close the program holding it (another orderlink link?) and try again, or register another port with the provider and pass --redirect-port N.',
          }),
        );
      }
      reject(err);
    };
    server.once('error', onError);
    // Rule 2: the loopback interface only; port 0 = OS-assigned (RFC 8252 §7.3).
    server.listen({ host: LOOPBACK_IP, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  if (addr.address !== LOOPBACK_IP) {
    server.close();
    throw oauthError('OAUTH_LISTENER_FAILED', 'the loopback listener did not bind to 127.0.0.1');
  }
  return { server, port: addr.port };
}

/**
 * Open the listener (RFC 8252 §7.3, §8.3). Requests are judged in this order, each failure a
 * fixed page and one step of the bad-request budget, none ending the wait:
 * Host must be exactly `127.0.0.1:{port}` (DNS rebinding), the path exactly `redirectPath`, the
 * method GET, and exactly one `state` equal to ours — before anything looks at `code` or `error`
 * (rule 5). The first matching request is held open for the flow to answer.
 */
export async function startLoopbackListener(o: LoopbackOptions): Promise<LoopbackListener> {
  assertRedirectPath(o.redirectPath);
  const trace = o.trace ?? (() => {});
  const maxBad = o.maxBadRequests ?? DEFAULT_MAX_BAD_REQUESTS;
  if (o.port !== undefined) assertRedirectPort(o.port);
  const { server, port } = await startServer(o.port ?? 0);
  const host = `${LOOPBACK_IP}:${port}`;
  const redirectUri = `http://${host}${o.redirectPath}`;

  let phase: 'waiting' | 'accepted' | 'closed' = 'waiting';
  let bad = 0;
  let held: ServerResponse | undefined;
  let resolveCb!: (cb: AcceptedCallback) => void;
  let rejectCb!: (err: OrderlinkError) => void;
  const callback = new Promise<AcceptedCallback>((resolve, reject) => {
    resolveCb = resolve;
    rejectCb = reject;
  });
  // The flow always awaits `callback`; this only stops an early rejection counting as unhandled.
  callback.catch(() => {});

  const refuse = (res: ServerResponse, kind: 'bad' | 'not_found' | 'method', why: string, extra?: Record<string, string>): void => {
    bad++;
    trace(`loopback listener: ignored a request (${why}); still waiting`);
    void send(res, kind, extra);
    if (bad >= maxBad && phase === 'waiting') {
      phase = 'closed';
      rejectCb(
        oauthError('OAUTH_TOO_MANY_BAD_REQUESTS', `stopped waiting: the loopback listener received ${bad} requests that were not the expected sign-in answer`, {
          hint: 'Another program on this computer is sending requests to orderlink\'s port. Nothing was stored; try again.',
        }),
      );
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.headers.host !== host) return refuse(res, 'bad', 'unexpected Host header');
    const target = req.url ?? '';
    if (!target.startsWith('/')) return refuse(res, 'bad', 'not an origin-form request');
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    if (path !== o.redirectPath) return refuse(res, 'not_found', 'another path');
    if (req.method !== 'GET') return refuse(res, 'method', `method ${req.method === 'POST' ? 'POST' : 'other than GET'}`, { Allow: 'GET' });
    if (phase !== 'waiting') {
      void send(res, 'done');
      return;
    }
    const params = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    if (!stateMatches(params, o.expectedState)) return refuse(res, 'bad', 'missing or wrong state');
    phase = 'accepted';
    held = res;
    resolveCb({ url: new URL(target, `http://${host}`), respond: (kind) => send(res, kind) });
  });
  // Malformed HTTP: answer 400 and drop the socket (no echo of what was sent).
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (phase === 'waiting') rejectCb(oauthError('OAUTH_LISTENER_CLOSED', 'the loopback listener was closed'));
      phase = 'closed';
      // A held callback the flow never answered (it threw): tell the browser, briefly.
      if (held && !held.writableEnded) await send(held, 'failed');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      trace(`loopback listener on port ${port} closed`);
    })());

  trace(`loopback listener on ${host} (${o.port ? 'fixed' : 'OS-assigned'} port), redirect path ${o.redirectPath}`);
  return { port, redirectUri, callback, close };
}
