/**
 * `orderlink smoke [CONNECTION|CONNECTOR...]`: a CI check of provider APIs. For each target it
 * links non-interactively where needed (a refresh token from a named variable for OAuth, the
 * provider's test login for aggregators), runs one bounded sync that writes no orders, checks the
 * provider's records against the connector's schema, and compares their shape with the payloads
 * the connector was recorded against (schema drift, by path). One JUnit testcase per check; no
 * keychain needed (ORDERLINK_VAULT_KEY is enough).
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { ExitCode, OrderlinkError, usageError } from '../errors.js';
import { printJson, pickFormat, renderRows, type Column } from '../ui/render.js';
import { parsePositiveInt } from './options.js';
import type { Check } from '../smoke/report.js';

export interface SmokeOptions {
  targets: string[];
  maxPages: number;
  strict: boolean;
  junit?: string;
  refreshTokenEnv?: string;
  baseUrl?: string;
}

export function register(cmd: Command, app: App): void {
  cmd
    .argument('[target...]', 'connections (number, connector:alias) or connector ids; default: every active API connection')
    .option('--max-pages <n>', 'pages fetched per connection', '1')
    .option('--strict', 'schema drift fails the run instead of warning', false)
    .option('--junit <file>', 'write a JUnit XML report (one testcase per check)')
    .option('--refresh-token-env <var>', 'link an OAuth connector named as a target from the refresh token in this variable, if it has no connection yet')
    .option('--base-url <url>', 'the provider base URL for such a link (sandbox: its issuer)')
    .addHelpText(
      'after',
      `
Checks per connection: link (a usable session), fetch (one bounded, dry-run sync), schema (every
record valid), drift (fields added, removed, renamed or retyped since the connector's recorded
fixtures: a warning, or a failure with --strict). Nothing is written but the run's own records.

Exit codes: 0 every check passed (warnings allowed), 1 a fetch failed or drift under --strict,
            3 invalid records, 4 a connection needs re-linking, 2 bad arguments.

Examples:
  $ orderlink smoke                                   # every active API connection
  $ orderlink smoke sandbox:work --max-pages 3 --junit smoke.xml
  $ orderlink smoke sandbox --base-url "$ISSUER" --refresh-token-env SANDBOX_RT --strict
  $ orderlink smoke plaid knot --json                 # aggregators link with their test logins`,
    )
    .action((targets: string[], o: { maxPages: string; strict: boolean; junit?: string; refreshTokenEnv?: string; baseUrl?: string }) => {
      if (o.refreshTokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.refreshTokenEnv)) {
        throw usageError('BAD_OPTION', '--refresh-token-env takes the NAME of an environment variable, not a token');
      }
      return app.run(
        'smoke',
        {
          targets,
          maxPages: parsePositiveInt(o.maxPages, '--max-pages', 1000),
          strict: o.strict,
          ...(o.junit ? { junit: o.junit } : {}),
          ...(o.refreshTokenEnv ? { refreshTokenEnv: o.refreshTokenEnv } : {}),
          ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
        } satisfies SmokeOptions,
        runSmoke,
      );
    });
}

export async function runSmoke(ctx: Context, o: SmokeOptions): Promise<number> {
  const { selectSmokeTargets, runChecks } = await import('../smoke/run.js');
  const connections = await selectSmokeTargets(ctx, o);
  const checks = await runChecks(ctx, connections, o);
  if (ctx.json) {
    printJson(ctx.io, { ok: checks.every((c) => c.status !== 'fail'), run_id: ctx.runId, checks });
  } else {
    const io = ctx.io;
    const mark = (c: Check) => (c.status === 'pass' ? io.color.green('pass') : c.status === 'warn' ? io.color.yellow('warn') : c.status === 'skip' ? io.color.dim('skip') : io.color.red('FAIL'));
    const cols: Column<Check>[] = [
      { key: 'connection', get: (c) => c.connection },
      { key: 'check', get: (c) => c.name },
      { key: 'result', get: (c) => c.status, style: (_v, c) => mark(c) },
      { key: 'detail', get: (c) => c.message },
    ];
    renderRows(io, checks, cols, pickFormat(io, {}));
    for (const c of checks) for (const d of (c.details ?? []).slice(0, 20)) if (c.status === 'warn' || c.status === 'fail') io.err(`  ${c.connection} ${c.name}: ${d}`);
  }
  if (o.junit) {
    const { smokeJunit } = await import('../smoke/report.js');
    const { writeJunit } = await import('../ui/junit.js');
    try {
      writeJunit(o.junit, smokeJunit(checks, { runId: ctx.runId, at: ctx.now() }));
    } catch (err) {
      const why = err instanceof Error && 'code' in err ? String((err as NodeJS.ErrnoException).code) : 'write failed';
      throw new OrderlinkError('JUNIT_WRITE_FAILED', `could not write the JUnit report to ${o.junit} (${why})`, { hint: 'Check that the folder exists and is writable.' });
    }
  }
  if (checks.some((c) => c.name === 'link' && c.status === 'fail' && c.code === 'REAUTH_REQUIRED')) return ExitCode.REAUTH_REQUIRED;
  if (checks.some((c) => c.status === 'fail' && c.name !== 'schema')) return ExitCode.FAILURE;
  if (checks.some((c) => c.status === 'fail')) return ExitCode.PARTIAL;
  return ExitCode.OK;
}
