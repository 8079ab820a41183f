/**
 * `orderlink sandbox serve` through the real binary (H36, H37; docs/security.md): a script that
 * waits for the port and asks at once is answered, and a port in use is a usage error.
 */
import { spawn } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BIN, childEnv, runCli } from './helpers/cli.js';

/** A port that was free a moment ago (the OS picks it, then we let it go). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once a TCP connection to the port succeeds (the way CI scripts wait: `nc -z`). */
async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('the port never opened');
}

function get(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

describe('sandbox serve', () => {
  it('H36: a request sent the moment the port opens is answered (the port opens only to a server that will answer)', async () => {
    // Several rounds: each one asks in the first milliseconds after the port opens.
    for (let round = 0; round < 3; round++) {
      const port = await freePort();
      const child = spawn(process.execPath, [BIN, 'sandbox', 'serve', '--port', String(port), '--auto-consent'], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        await waitForPort(port, Date.now() + 20_000);
        const res = await get(port, '/.well-known/openid-configuration', 15_000);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).issuer).toBe(`http://127.0.0.1:${port}`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('close', r));
      }
    }
  });

  it('H37: a port in use is a usage error (exit 2) naming the port, with a hint; never exit 70', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await runCli(['sandbox', 'serve', '--port', String(port)], { timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`port ${port} is in use`);
      expect(r.stderr).toContain('--port 0');
      const j = await runCli(['--json', 'sandbox', 'serve', '--port', String(port)], { timeoutMs: 20_000 });
      expect(j.code).toBe(2);
      expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'PORT_IN_USE', exitCode: 2 });
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
