/**
 * The one admin route a served replica adds (`orderlink sandbox serve --provider amazon-seller|shopify`):
 * `POST /__replica/refresh-token` answers a fresh refresh token as plain text, so a developer or CI
 * pipes it straight into `orderlink link … --refresh-token-stdin` and no token is ever printed by
 * the server. The same guard as the sandbox's /__sandbox/ routes (src/sandbox/admin.ts): loopback
 * peer, the exact Host (DNS rebinding), no foreign Origin or cross-site fetch (CSRF).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OrderlinkError } from '../../errors.js';

export const MINT_PATH = '/__replica/refresh-token';
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Why a mint request is refused, or null when it may proceed. */
export function refuseMint(req: IncomingMessage, origin: string): string | null {
  if (req.method !== 'POST') return 'use POST';
  if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) return 'loopback only';
  if (req.headers.host !== new URL(origin).host) return `the Host header must be ${new URL(origin).host}`;
  const from = req.headers.origin;
  if ((from !== undefined && from !== origin) || req.headers['sec-fetch-site'] === 'cross-site') return 'cross-origin requests are refused';
  return null;
}

export function sendToken(res: ServerResponse, token: string): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(token) });
  res.end(token);
}

export function sendRefusal(res: ServerResponse, status: number, why: string): void {
  const body = JSON.stringify({ error: status === 403 ? 'forbidden' : 'invalid_request', error_description: why });
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A port that cannot be had is the caller's choice to change: a usage error (exit 2), as the sandbox says it. */
export function portError(err: unknown, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') return new OrderlinkError('PORT_IN_USE', `port ${port} is in use`, { kind: 'usage', hint: 'Choose another port with --port N, or --port 0 to let the system pick a free one.', details: { port } });
  if (code === 'EACCES') return new OrderlinkError('PORT_NOT_ALLOWED', `not allowed to listen on port ${port}`, { kind: 'usage', hint: 'Ports below 1024 need extra privileges: choose a port above 1024, or --port 0.', details: { port } });
  return err;
}
