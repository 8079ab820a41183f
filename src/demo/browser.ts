/**
 * A minimal "browser" for the demo and the end-to-end tests: it follows an authorization URL's
 * redirects (keeping cookies per origin, as oidc-provider's interaction needs) until it lands on
 * the loopback redirect URI, and requests that too — exactly what a real browser does when the
 * sandbox approves a request without a screen (--auto-consent). It only ever talks to 127.0.0.1.
 */
export interface BrowserVisit {
  /** Every URL requested, in order (query strings included; for tests, never printed). */
  visited: string[];
  /** Status of the final response (the loopback listener's page). */
  finalStatus: number;
  finalBody: string;
}

export async function visitWithRedirects(start: string, opts: { maxHops?: number; fetch?: typeof globalThis.fetch } = {}): Promise<BrowserVisit> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const jar = new Map<string, Map<string, string>>();
  const visited: string[] = [];
  let url = new URL(start);
  for (let hop = 0; hop < (opts.maxHops ?? 20); hop++) {
    if (url.hostname !== '127.0.0.1') throw new Error('the demo browser only visits 127.0.0.1');
    visited.push(url.toString());
    const cookies = jar.get(url.origin);
    const res = await doFetch(url, {
      redirect: 'manual',
      headers: cookies?.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {},
    });
    for (const sc of res.headers.getSetCookie()) {
      const [pair = ''] = sc.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const m = jar.get(url.origin) ?? new Map<string, string>();
      m.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      jar.set(url.origin, m);
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      continue;
    }
    return { visited, finalStatus: res.status, finalBody: await res.text() };
  }
  throw new Error('too many redirects');
}
