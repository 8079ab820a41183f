/**
 * `orderlink sandbox serve --provider plaid|knot` for connector authors: the replica starts, says
 * how to set it up, and a second orderlink links and syncs against it — all through the binary.
 */
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { e2eHome } from './helpers/e2e.js';

/** Starts `sandbox serve` and resolves with its first stdout line (the URL) once it listens. */
function serve(provider: string, env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess; done: Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let child: ChildProcess | undefined;
    const done = runCli(['sandbox', 'serve', '--provider', provider, '--port', '0', '--orders', '25'], {
      env,
      timeoutMs: 60_000,
      onSpawn: (c) => {
        child = c;
        c.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n')[0]!;
          if (out.includes('\n') && /^http:\/\/127\.0\.0\.1:\d+$/.test(line)) resolve({ url: line, child: c, done });
        });
      },
    });
    done.then((r) => (child && !out.includes('\n') ? reject(new Error(`serve exited: ${r.stderr}`)) : undefined), reject);
  });
}

describe('sandbox serve --provider', () => {
  for (const [provider, setupEnv, link, list] of [
    ['plaid', 'sandbox', ['link', 'plaid', '--sandbox'], ['--json', 'charges']],
    ['knot', 'development', ['link', 'knot', '--merchant', 'walmart', '--sandbox'], ['--json', 'orders']],
  ] as const) {
    it(`${provider}: start the replica, set up, link with the test login, sync`, async () => {
      const h = e2eHome();
      const creds = { id: `${provider}-author-id`, secret: `${provider}-author-secret-000` };
      const prefix = `ORDERLINK_${provider.toUpperCase()}_REPLICA_`;
      const s = await serve(provider, { ...h.env, [`${prefix}CLIENT_ID`]: creds.id, [`${prefix}SECRET`]: creds.secret });
      try {
        const setup = await h.cli(['connector', 'setup', provider, '--env', setupEnv, '--base-url', s.url, '--credentials-stdin'], { stdin: `${creds.id}\n${creds.secret}\n` });
        expect(setup.code, setup.stderr).toBe(0);
        const l = await h.cli([...link]);
        expect(l.code, l.stderr).toBe(0);
        const sync = await h.cli(['sync']);
        expect(sync.code, sync.stderr).toBe(0);
        const rows = JSON.parse((await h.cli([...list])).stdout) as unknown[];
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        s.child.kill('SIGINT');
        await s.done;
        h.cleanup();
      }
    });
  }
});
