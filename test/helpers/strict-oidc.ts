/**
 * A real OpenID Provider (oidc-provider, the certified library the sandbox uses) configured the
 * way many deployed servers are, against which a CLI that only knows the sandbox cannot link:
 * - the issuer has a path (`http://127.0.0.1:PORT/api/oidc`), served under it; RFC 8414's
 *   location (`/.well-known/oauth-authorization-server/api/oidc`) is absent or — `website: true`
 *   — answered by the host's website with an HTML page and status 200;
 * - the client is a web client whose redirect URIs are matched exactly, port included (no RFC
 *   8252 §7.3 any-port rule); an unregistered one gets oidc-provider's error page;
 * - a request with the `openid` scope and no `nonce` is refused;
 * - `hideIss: true` keeps `iss` in authorization responses but stops advertising it.
 * Consent: the interaction is finished in-process through oidc-provider's documented
 * interactionDetails / interactionFinished, so `visitWithRedirects` plays the browser.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KoaContextWithOIDC } from 'oidc-provider';

export interface StrictOidc {
  issuer: string;
  origin: string;
  clientId: string;
  /** Authorization requests refused for a missing nonce. */
  refusedWithoutNonce(): number;
  close(): Promise<void>;
}

export async function startStrictOidc(o: { redirectUris: string[]; website?: boolean; hideIss?: boolean }): Promise<StrictOidc> {
  const { default: Provider } = await import('oidc-provider');
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const prefix = '/api/oidc';
  const issuer = `${origin}${prefix}`;
  const clientId = 'strict-cli';
  let noNonce = 0;
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, application_type: 'web', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: o.redirectUris }],
    clientAuthMethods: ['none'],
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'orders:read'],
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
    interactions: { url: async (_ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    issueRefreshToken: async () => true,
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  });
  provider.proxy = false;
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => {
    if (ctx.path === '/auth' && ctx.method === 'GET' && String(ctx.query.scope ?? '').split(' ').includes('openid') && !ctx.query.nonce) {
      noNonce++;
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = '<!doctype html><h1>oops! something went wrong</h1><pre>error: invalid_request\nerror_description: missing required parameter \'nonce\'</pre>';
      return;
    }
    await next();
    if (o.hideIss && ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
      delete (ctx.body as Record<string, unknown>).authorization_response_iss_parameter_supported;
    }
  });
  const handle = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (o.website && url.startsWith('/.well-known/oauth-authorization-server')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Acme</title><p>Welcome to our website</p>');
      return;
    }
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const m = new RegExp(`^${prefix}/interaction/([\\w-]+)$`).exec(url.split('?')[0]!);
    if (m) {
      void (async () => {
        const details = await provider.interactionDetails(req, res);
        const grant = new provider.Grant({ accountId: 'alice', clientId });
        grant.addOIDCScope(String(details.params.scope ?? 'openid'));
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { login: { accountId: 'alice' }, consent: { grantId } }, { mergeWithLastSubmission: false });
      })().catch(() => res.writeHead(500).end());
      return;
    }
    // Mounted under the issuer's path: oidc-provider sees the path below it.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
    req.url = url.slice(prefix.length) || '/';
    handle(req, res);
  });

  return {
    issuer,
    origin,
    clientId,
    refusedWithoutNonce: () => noNonce,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
