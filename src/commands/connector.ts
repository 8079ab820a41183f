/**
 * `orderlink connector list|show|setup`: what connectors this build has, what each can do (its
 * capabilities are facts the other commands act on), and the one-time setup of an aggregator's
 * app credentials (client id and secret), which go into the vault — never argv, the database or
 * any output.
 */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, usageError } from '../errors.js';
import { printJson, pickFormat, renderRows, type Column } from '../ui/render.js';

export interface ConnectorListOptions {
  kind: 'list';
}
export interface ConnectorShowOptions {
  kind: 'show';
  id: string;
}
export interface ConnectorSetupOptions {
  kind: 'setup';
  id: string;
  environment?: string;
  /** Where this environment's API lives, when it is not the provider's documented host (a replica). */
  baseUrl?: string;
  /** A token endpoint other than the connector's documented one (a replica of LWA). */
  tokenUrl?: string;
  /** Regional providers (amazon-seller): na, eu or fe — with `sandbox`, the environment `<region>-sandbox`. */
  region?: string;
  sandbox?: boolean;
  credentialsStdin: boolean;
}
export type ConnectorOptions = ConnectorListOptions | ConnectorShowOptions | ConnectorSetupOptions | import('./connector-descriptor.js').DescriptorCommandOptions;

export function register(cmd: Command, app: App): void {
  cmd.addHelpText(
    'after',
    `
Examples:
  $ orderlink connector list                       # every connector, how it links, what it can do
  $ orderlink connector show plaid                 # its facts, environments and setup state
  $ orderlink connector setup plaid --env sandbox  # asks for the client id and (hidden) secret
  $ printf '%s\\n%s\\n' "$PLAID_CLIENT_ID" "$PLAID_SECRET" | orderlink connector setup plaid --env sandbox --credentials-stdin
  $ orderlink connector add mysandbox --from examples/connectors/sandbox.json   # any OAuth orders API, as data
  $ orderlink sync mysandbox --dry-run --record pages/                          # save the raw pages (allow-listed)
  $ orderlink connector test mysandbox --replay pages/ --json                   # re-run the mapping offline

Docs: docs/connectors.md, docs/connector-author.md`,
  );
  cmd
    .command('list')
    .description('List the connectors in this build')
    .action(() => app.run('connector', { kind: 'list' } satisfies ConnectorOptions, runConnector));
  cmd
    .command('show')
    .description("Show one connector's facts: auth strategy, capabilities, endpoints, environments")
    .argument('<connector>', 'connector id')
    .action((id: string) => app.run('connector', { kind: 'show', id } satisfies ConnectorOptions, runConnector));
  cmd
    .command('setup')
    .description("Store an aggregator's app credentials (client id and secret) in the vault")
    .argument('<connector>', 'connector id (plaid, knot)')
    .option('--env <environment>', 'the environment these credentials are for (sandbox, development, production)')
    .option('--base-url <url>', "the API's base URL for this environment, when not the provider's own host (a local replica)")
    .option('--region <region>', 'regional providers (amazon-seller): na, eu or fe')
    .option('--sandbox', "with --region: the provider's sandbox environment of that region", false)
    .option('--token-url <url>', "the OAuth token endpoint, when not the provider's own (a local replica)")
    .option('--credentials-stdin', 'CI: read the client id and the secret from stdin, one per line (or JSON {"client_id","secret"})', false)
    .addHelpText('after', '\nThe secret is never accepted as an argument: it would land in your shell history and process list.\n  $ printf \'%s\\n%s\\n\' "$LWA_CLIENT_ID" "$LWA_CLIENT_SECRET" | orderlink connector setup amazon-seller --region eu --credentials-stdin\n')
    .action((id: string, o: { env?: string; baseUrl?: string; tokenUrl?: string; region?: string; sandbox: boolean; credentialsStdin: boolean }) =>
      app.run(
        'connector',
        {
          kind: 'setup', id, ...(o.env ? { environment: o.env } : {}), ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}), ...(o.tokenUrl ? { tokenUrl: o.tokenUrl } : {}),
          ...(o.region ? { region: o.region } : {}), sandbox: o.sandbox, credentialsStdin: o.credentialsStdin,
        } satisfies ConnectorOptions,
        runConnector,
      ),
    );
  cmd
    .command('add')
    .description('Add a connector to this profile from a JSON descriptor (any OAuth 2.0 / OIDC orders API)')
    .argument('<name>', 'its name: lowercase letters, digits and "-" (the loopback redirect path is /callback/NAME)')
    .requiredOption('--from <file>', 'the descriptor (schema: docs/connector-descriptor.schema.json)')
    .option('--client-secret-stdin', 'confidential clients: read the client secret from stdin (otherwise asked for, hidden)', false)
    .option('--replace', 'install a new version of an added connector (its connections keep working with it)', false)
    .action((name: string, o: { from: string; clientSecretStdin: boolean; replace: boolean }) => app.run('connector', { kind: 'add', name, from: o.from, clientSecretStdin: o.clientSecretStdin, replace: o.replace } satisfies ConnectorOptions, runConnector));
  cmd
    .command('remove')
    .description('Remove an added connector (and its client secret) from this profile')
    .argument('<name>', 'the added connector')
    .action((name: string) => app.run('connector', { kind: 'remove', name } satisfies ConnectorOptions, runConnector));
  cmd
    .command('test')
    .description('Re-run a connector\'s mapping offline on pages saved by `sync --record`, and show the normalized orders')
    .argument('<name>', 'the connector')
    .requiredOption('--replay <dir>', 'the folder `orderlink sync NAME --dry-run --record DIR` wrote')
    .option('--from <file>', 'map with this descriptor file instead of the added one (edit, test, then `connector add NAME --from FILE --replace`)')
    .action((name: string, o: { replay: string; from?: string }) => app.run('connector', { kind: 'test', name, replay: o.replay, ...(o.from ? { from: o.from } : {}) } satisfies ConnectorOptions, runConnector));
}

export async function runConnector(ctx: Context, o: ConnectorOptions): Promise<number> {
  const { listAllConnectors, resolveConnector } = await import('../connectors/resolve.js');
  if (o.kind === 'add' || o.kind === 'remove' || o.kind === 'test') {
    const { runDescriptorCommand } = await import('./connector-descriptor.js');
    return runDescriptorCommand(ctx, o);
  }
  if (o.kind === 'list') {
    const rows = listAllConnectors(ctx).map(({ connector: c, added }) => ({ ...describe(c), added }));
    if (ctx.json) return printJson(ctx.io, rows), 0;
    const cols: Column<ReturnType<typeof describe> & { added: boolean }>[] = [
      { key: 'connector', get: (r) => (r.added ? `${r.id} (added)` : r.id) },
      { key: 'links through', get: (r) => r.auth },
      { key: 'kind', get: (r) => r.kind },
      { key: 'can', get: (r) => Object.entries(r.capabilities).filter(([, v]) => v).map(([k]) => k).join(', ') || '—' },
      { key: 'docs', get: (r) => r.docs },
    ];
    renderRows(ctx.io, rows, cols, pickFormat(ctx.io, {}));
    return 0;
  }
  const connector = resolveConnector(ctx, o.id);
  if (o.kind === 'show') {
    const d = { ...describe(connector), descriptor: connector.descriptor, checkpoint: connector.checkpoint, environments: connector.environments ?? null, setup: await setupState(ctx, connector) };
    if (ctx.json) return printJson(ctx.io, d), 0;
    const io = ctx.io;
    io.out(`${connector.displayName} (${connector.id})`);
    io.out(`  links through   ${d.auth}`);
    io.out(`  capabilities    ${Object.entries(d.capabilities).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}`);
    io.out(`  checkpoint      ${d.checkpoint === 'page' ? 'per page' : 'at the end of each update'}`);
    io.out(`  pagination      ${d.descriptor.pagination.style}, ${d.descriptor.pagination.pageSize.default} per page (max ${d.descriptor.pagination.pageSize.max})`);
    if (d.descriptor.rateLimit) io.out(`  rate limit      ${d.descriptor.rateLimit.requestsPerSecond}/s`);
    if (d.descriptor.rateLimits) io.out(`  rate limits     ${Object.entries(d.descriptor.rateLimits).map(([op, p]) => `${op} ${p.requestsPerSecond}/s burst ${p.burst}`).join(', ')}`);
    if (d.environments) io.out(`  environments    ${Object.entries(d.environments).map(([k, v]) => `${k} (${v})`).join(', ')}`);
    if (d.setup) io.out(`  app credentials ${d.setup.map((s) => `${s.environment}: ${s.configured ? 'set up' : 'not set up'}`).join(', ')}`);
    io.out(`  docs            ${d.docs}`);
    return 0;
  }
  return setup(ctx, connector, o);
}

export function describe(c: import('../connectors/types.js').Connector) {
  return {
    id: c.id,
    name: c.displayName,
    kind: c.kind,
    auth: c.auth.type === 'oauth' ? `oauth (${c.auth.confidential ? 'confidential' : 'public'} client, ${c.auth.tokenEndpoint ? 'refresh token from self-authorization' : c.auth.loopback ? 'loopback' : 'paste-the-URL'})` : c.auth.type === 'hostedLink' ? 'hosted link (aggregator)' : 'file import',
    capabilities: c.capabilities,
    docs: c.docs,
  };
}

async function setupState(ctx: Context, c: import('../connectors/types.js').Connector): Promise<Array<{ environment: string; configured: boolean }> | null> {
  const { needsAppCredentials } = await import('../sync/session.js');
  if (!needsAppCredentials(c)) return null;
  if (!ctx.hasVault()) return Object.keys(c.environments ?? { default: '' }).map((environment) => ({ environment, configured: false }));
  const { appCredentialsRef } = await import('../sync/session.js');
  const refs = new Set((await ctx.vault()).list());
  return Object.keys(c.environments ?? { default: '' }).map((environment) => ({ environment, configured: refs.has(appCredentialsRef(c.id, environment)) }));
}

async function setup(ctx: Context, connector: import('../connectors/types.js').Connector, o: ConnectorSetupOptions): Promise<number> {
  const { needsAppCredentials } = await import('../sync/session.js');
  if (!needsAppCredentials(connector)) {
    throw usageError('NO_SETUP', `${connector.displayName} has no app credentials to set up`, `Link it directly: orderlink link ${connector.id}`);
  }
  const envs = connector.environments ?? {};
  if (o.region !== undefined && o.environment !== undefined) throw usageError('BAD_OPTION', 'use either --region (with --sandbox) or --env, not both');
  if (o.sandbox && o.region === undefined) throw usageError('BAD_OPTION', '--sandbox goes with --region', `Example: orderlink connector setup ${connector.id} --region na --sandbox`);
  const environment = o.region !== undefined ? `${o.region}${o.sandbox ? '-sandbox' : ''}` : (o.environment ?? Object.keys(envs)[0]);
  if (environment === undefined || !(environment in envs)) {
    throw usageError('BAD_ENVIRONMENT', `${connector.displayName} has no environment "${String(o.environment).slice(0, 30)}"`, `Use one of: ${Object.keys(envs).join(', ')}.`);
  }
  let clientId: string;
  let secret: string;
  if (o.credentialsStdin) {
    ({ clientId, secret } = parseCredentials(await ctx.io.readStdin()));
  } else {
    if (!(ctx.io.stdinIsTTY && ctx.io.stderrIsTTY)) {
      throw usageError('NO_TERMINAL', 'no terminal to ask for the credentials on', `Pipe them in: printf '%s\\n%s\\n' "$CLIENT_ID" "$SECRET" | orderlink connector setup ${connector.id} --env ${environment} --credentials-stdin`);
    }
    clientId = (await ctx.prompter().input(`${connector.displayName} client id (${environment})`)).trim();
    secret = (await ctx.prompter().password(`${connector.displayName} secret (${environment}, hidden)`)).trim();
  }
  if (!/^[\x21-\x7e]{4,200}$/.test(clientId) || !/^[\x21-\x7e]{4,200}$/.test(secret)) {
    throw usageError('BAD_CREDENTIALS', 'the client id and secret must each be 4–200 printable characters without spaces', 'Copy them from the provider\'s dashboard (Keys / API credentials).');
  }
  const { appCredentialsRef } = await import('../sync/session.js');
  const { checkBaseUrl } = await import('../link/index.js');
  const baseUrl = o.baseUrl === undefined ? undefined : checkBaseUrl(o.baseUrl);
  const tokenUrl = o.tokenUrl === undefined ? undefined : checkBaseUrl(o.tokenUrl);
  if (tokenUrl !== undefined && !(connector.auth.type === 'oauth' && connector.auth.tokenEndpoint)) {
    throw usageError('BAD_OPTION', `${connector.displayName} finds its token endpoint by discovery; --token-url does not apply`);
  }
  const vault = await ctx.vault();
  vault.put(appCredentialsRef(connector.id, environment), JSON.stringify({ clientId, secret, ...(baseUrl ? { baseUrl } : {}), ...(tokenUrl ? { tokenUrl } : {}) }));
  ctx.audit('connector.setup', null, { connector: connector.id, environment, base_url: baseUrl ?? null, token_url: tokenUrl ?? null });
  if (ctx.json) printJson(ctx.io, { connector: connector.id, environment, configured: true });
  else ctx.io.err(`${ctx.io.errColor.green('✓')} ${connector.displayName} (${environment}) is set up; the secret is in the vault. Next: ${connector.auth.type === 'oauth' ? `printf %s "$REFRESH_TOKEN" | orderlink link ${connector.id} --refresh-token-stdin${connector.id === 'amazon-seller' ? ' --marketplace ID' : ''}` : `orderlink link ${connector.id}${environment === Object.keys(envs)[0] ? '' : ` --env ${environment}`}`}`);
  return 0;
}

/** Two lines (client id, then secret) or JSON {"client_id": …, "secret": …}. */
export function parseCredentials(text: string): { clientId: string; secret: string } {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as Record<string, unknown>;
      const clientId = j.client_id ?? j.clientId;
      if (typeof clientId === 'string' && typeof j.secret === 'string') return { clientId: clientId.trim(), secret: j.secret.trim() };
    } catch {
      /* fall through to the error below, which never echoes the input */
    }
    throw new OrderlinkError('BAD_CREDENTIALS', 'stdin held JSON without string "client_id" and "secret" fields', { kind: 'usage' });
  }
  const lines = t.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length !== 2) throw new OrderlinkError('BAD_CREDENTIALS', `expected two lines on stdin (client id, then secret), got ${lines.length}`, { kind: 'usage' });
  return { clientId: lines[0]!, secret: lines[1]! };
}
