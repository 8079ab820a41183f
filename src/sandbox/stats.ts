/** Counters the sandbox keeps for tests, benchmarks and `/__sandbox/stats`. */
import type { FaultCounters } from './faults.js';

export interface SandboxStats {
  /**
   * Requests per route name: authorization, resume, token, revocation, introspection, discovery,
   * oauth_metadata, jwks, userinfo, interaction, interaction.login, interaction.confirm,
   * interaction.abort, api.me, api.orders, api.other, admin.<name>, home, other.
   */
  requests: Record<string, number>;
  totalRequests: number;
  /** Successful token grants by grant type. */
  grants: { authorization_code: number; refresh_token: number };
  /** Token requests that failed (invalid_grant, invalid_request, ...), by OAuth error code. */
  grantErrors: Record<string, number>;
  /** Successful calls to the RFC 7009 revocation endpoint. */
  revocations: number;
  /** Grants revoked by revokeAllFor() or the revoke-refresh fault. */
  grantsRevoked: number;
  /** Refresh tokens issued by mintRefreshToken(). */
  minted: number;
  /** Order records (orders and tombstones) sent by /api/v1/orders. */
  ordersServed: number;
  pagesServed: number;
  /** API requests refused for a missing, unknown, expired or under-scoped token. */
  unauthorized: number;
  /** Faults actually injected, by fault. */
  faults: FaultCounters;
  /** Unexpected errors inside the sandbox (should stay 0). */
  serverErrors: number;
}

export class StatsCollector {
  requests: Record<string, number> = {};
  totalRequests = 0;
  grants = { authorization_code: 0, refresh_token: 0 };
  grantErrors: Record<string, number> = {};
  revocations = 0;
  grantsRevoked = 0;
  minted = 0;
  ordersServed = 0;
  pagesServed = 0;
  unauthorized = 0;
  serverErrors = 0;

  constructor(private readonly faultCounters: () => FaultCounters) {}

  /** Count one request under its route name (see routeName in index.ts). */
  request(name: string): void {
    // Bounded: a scanner inventing admin paths must not grow the table without end.
    const route = this.requests[name] === undefined && Object.keys(this.requests).length >= 100 ? 'other' : name;
    this.requests[route] = (this.requests[route] ?? 0) + 1;
    this.totalRequests++;
  }

  grantError(code: string): void {
    this.grantErrors[code] = (this.grantErrors[code] ?? 0) + 1;
  }

  snapshot(): SandboxStats {
    return structuredClone({
      requests: this.requests,
      totalRequests: this.totalRequests,
      grants: this.grants,
      grantErrors: this.grantErrors,
      revocations: this.revocations,
      grantsRevoked: this.grantsRevoked,
      minted: this.minted,
      ordersServed: this.ordersServed,
      pagesServed: this.pagesServed,
      unauthorized: this.unauthorized,
      faults: this.faultCounters(),
      serverErrors: this.serverErrors,
    });
  }
}
