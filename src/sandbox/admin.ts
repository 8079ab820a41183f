/**
 * Admin endpoints under /__sandbox/ for tests, benchmarks and the CLI. Loopback only: the peer must
 * be a loopback address, the Host header must be exactly the sandbox's own 127.0.0.1:port (DNS
 * rebinding), and a browser request from another origin (Origin / Sec-Fetch-Site) is refused (CSRF).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OrderlinkError } from '../errors.js';
import { HttpError, readBody, sendJson } from './http.js';
import type { SandboxStats } from './stats.js';

export interface AdminControl {
  host: string;
  origin: string;
  stats(): SandboxStats;
  faultsText(): string;
  setFaults(spec: string): string;
  advance(steps: number): { changed: string[] };
  accounts(): { name: string; account_id: string; label: string; orders: number }[];
  mintRefreshToken(account: string, scope?: string): Promise<string>;
  revokeAllFor(account: string): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function refuse(res: ServerResponse, why: string): void {
  sendJson(res, 403, { error: 'forbidden', error_description: why });
}

/** JSON object, or a form body, or (for a single field) plain text. */
async function readFields(req: IncomingMessage): Promise<{ text: string; fields: Record<string, string> }> {
  const text = (await readBody(req, 8192)).trim();
  const type = String(req.headers['content-type'] ?? '');
  const fields: Record<string, string> = {};
  if (type.startsWith('application/json') && text) {
    const o = JSON.parse(text) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new HttpError(400, 'the JSON body must be an object');
    for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') fields[k] = String(v);
  } else if (type.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(text)) fields[k] = v;
  }
  return { text, fields };
}

export async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL, c: AdminControl): Promise<void> {
  if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) return refuse(res, 'admin endpoints are loopback only');
  if (req.headers.host !== c.host) return refuse(res, `the Host header must be ${c.host}`);
  const origin = req.headers.origin;
  if ((origin !== undefined && origin !== c.origin) || req.headers['sec-fetch-site'] === 'cross-site') {
    return refuse(res, 'cross-origin requests are refused');
  }
  const route = `${req.method} ${url.pathname}`;
  try {
    switch (route) {
      case 'GET /__sandbox/stats':
        return sendJson(res, 200, c.stats());
      case 'GET /__sandbox/faults':
        return sendJson(res, 200, { faults: c.faultsText() });
      case 'POST /__sandbox/faults': {
        const { text, fields } = await readFields(req);
        const spec = fields.spec ?? fields.faults ?? text;
        return sendJson(res, 200, { faults: c.setFaults(spec) });
      }
      case 'POST /__sandbox/advance': {
        const { text, fields } = await readFields(req);
        const raw = url.searchParams.get('steps') ?? fields.steps ?? (text || '1');
        if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1) throw new HttpError(400, 'steps must be an integer from 1 to 9999');
        return sendJson(res, 200, c.advance(Number(raw)));
      }
      case 'GET /__sandbox/accounts':
        return sendJson(res, 200, { accounts: c.accounts() });
      case 'POST /__sandbox/mint': {
        const { fields } = await readFields(req);
        if (!fields.account) throw new HttpError(400, 'account is required');
        return sendJson(res, 200, { refresh_token: await c.mintRefreshToken(fields.account, fields.scope) });
      }
      case 'POST /__sandbox/revoke': {
        const { fields } = await readFields(req);
        if (!fields.account) throw new HttpError(400, 'account is required');
        await c.revokeAllFor(fields.account);
        return sendJson(res, 200, { revoked: true });
      }
      default:
        return sendJson(res, 404, { error: 'not_found', error_description: 'Unknown admin endpoint.' });
    }
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 400;
    // Messages come from our own validation (fault grammar, account names), never from a secret.
    const message = err instanceof OrderlinkError || err instanceof Error ? err.message : 'bad request';
    return sendJson(res, status, { error: 'invalid_request', error_description: message.slice(0, 300) });
  }
}
