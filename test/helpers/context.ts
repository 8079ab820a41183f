/**
 * Test contexts: a real temporary home, a real SQLite file, captured IO (TTY on or off) and an
 * env-key vault by default, so unit-level tests exercise the real store and vault.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createContext, type Context, type ContextOverrides } from '../../src/context.js';
import { captureIO, type CapturedIO } from '../../src/ui/io.js';

export interface TestContext {
  ctx: Context;
  io: CapturedIO;
  home: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function tempHome(prefix = 'orderlink-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function newEnvKey(): string {
  return randomBytes(32).toString('base64');
}

export function testContext(
  opts: { home?: string; tty?: boolean; json?: boolean; verbose?: boolean; env?: NodeJS.ProcessEnv; profile?: string; columns?: number } & ContextOverrides = {},
): TestContext {
  const home = opts.home ?? tempHome();
  const io = captureIO({ tty: opts.tty ?? false, columns: opts.columns ?? 100 });
  const env = opts.env ?? { ORDERLINK_VAULT_KEY: newEnvKey() };
  const { home: _h, tty: _t, json, verbose, profile, columns: _c, ...overrides } = opts;
  const ctx = createContext(io, { home, profile: profile ?? 'default', json: json ?? false, verbose: verbose ?? false }, { ...overrides, env });
  return {
    ctx,
    io,
    home,
    env,
    cleanup() {
      ctx.close();
      if (!opts.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
