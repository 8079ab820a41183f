/** amazon-seller end-to-end helpers: set up the app and link a seller through the real binary. */
import type { SpApiReplica } from '../../src/sandbox/replicas/amazon-seller.js';
import type { E2EHome } from './e2e.js';

export async function setupApp(h: E2EHome, r: SpApiReplica, opts: { region?: string; secret?: string } = {}): Promise<void> {
  const res = await h.cli(['connector', 'setup', 'amazon-seller', '--region', opts.region ?? 'na', '--base-url', r.url, '--token-url', r.tokenUrl, '--credentials-stdin'], {
    stdin: `${r.clientId}\n${opts.secret ?? r.clientSecret}\n`,
  });
  if (res.code !== 0) throw new Error(`setup failed (${res.code}): ${res.stderr}`);
}

export async function linkSeller(h: E2EHome, r: SpApiReplica, extra: string[] = [], refreshToken = r.mintRefreshToken()): Promise<{ id: number; refreshToken: string }> {
  const verbose = extra.includes('--verbose');
  const res = await h.cli([...(verbose ? ['--verbose'] : []), '--json', 'link', 'amazon-seller', '--refresh-token-stdin', '--marketplace', r.marketplace, ...extra.filter((x) => x !== '--verbose')], { stdin: refreshToken });
  if (res.code !== 0) throw new Error(`link failed (${res.code}): ${res.stderr}${res.stdout}`);
  // The secret canary: nothing of the refresh token or the client secret in any output, even --verbose.
  for (const secret of [refreshToken.slice(5), r.clientSecret]) if ((res.stdout + res.stderr).includes(secret)) throw new Error('a secret was printed by link');
  return { id: (JSON.parse(res.stdout) as { connection: { id: number } }).connection.id, refreshToken };
}

export interface SyncReport {
  ok: boolean;
  connections: Array<{ status: string; pages: number; fetched: number; added: number; updated: number; unchanged: number; errors: number; requests: number; rate_limit_wait_ms: number; throttled: number; duration_ms: number; error: { code: string; message: string; hint?: string } | null }>;
}
