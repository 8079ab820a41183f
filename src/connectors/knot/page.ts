/**
 * The page the loopback listener serves for a Knot link: it loads Knot's web SDK, opens it for
 * the session and the merchant, and posts what the SDK reports (success, error or exit) back to
 * the listener, at its own address + `/result`, as JSON. Everything it embeds is a value we
 * created or Knot's session id (never the secret), JSON-encoded with `<`, `>` and `&` escaped;
 * a per-page nonce is the only way an inline script runs, and the SDK's origin is the only
 * other script source (the page's own Content-Security-Policy).
 */
import { randomBytes } from 'node:crypto';

export interface KnotPageOptions {
  sdkUrl: string;
  sessionId: string;
  clientId: string;
  environment: string;
  merchantId: number;
  merchantName: string;
}

const jsonForScript = (v: unknown) => JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const html = (s: string) => s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);

export function knotPage(o: KnotPageOptions): string {
  const nonce = randomBytes(18).toString('base64');
  const sdk = new URL(o.sdkUrl);
  const sdkOrigin = sdk.origin;
  // Knot's SDK draws its login UI in a frame from Knot's own hosts and talks to its API.
  const knot = 'https://*.knotapi.com';
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' ${sdkOrigin}`,
    `connect-src 'self' ${sdkOrigin} ${knot}`,
    `frame-src ${sdkOrigin} ${knot}`,
    `style-src 'unsafe-inline' ${sdkOrigin}`,
    `img-src data: ${sdkOrigin} ${knot}`,
    `font-src ${sdkOrigin} ${knot}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const cfg = { sessionId: o.sessionId, clientId: o.clientId, environment: o.environment, merchantId: o.merchantId };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${html(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>orderlink — link ${html(o.merchantName)} through Knot</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><h1>Link ${html(o.merchantName)}</h1>
<p id="status">Opening Knot's login window… Log in to ${html(o.merchantName)} there. orderlink only reads your order history; it never sees your password or card details.</p>
<script id="orderlink-knot-config" type="application/json" nonce="${nonce}">${jsonForScript(cfg)}</script>
<script src="${html(o.sdkUrl)}" nonce="${nonce}"></script>
<script nonce="${nonce}">
(function () {
  var cfg = JSON.parse(document.getElementById('orderlink-knot-config').textContent);
  var status = document.getElementById('status');
  var sent = false;
  function say(t) { status.textContent = t; }
  function report(r) {
    if (sent) return;
    sent = true;
    fetch(location.pathname + '/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r), credentials: 'omit' })
      .then(function (res) {
        say(res.ok ? (r.event === 'success' ? 'Linked. You can close this tab and return to the terminal.' : 'Not linked. The terminal says why; you can close this tab.') : 'orderlink did not accept this answer; the terminal says why.');
      }, function () { say('orderlink is no longer listening (it may have timed out). Run the link command again.'); });
  }
  var K = window.KnotapiJS && (typeof window.KnotapiJS === 'function' ? window.KnotapiJS : window.KnotapiJS.default);
  if (typeof K !== 'function') { report({ event: 'error', error_code: 'SDK_NOT_LOADED' }); return; }
  var str = function (v) { return typeof v === 'string' ? v.slice(0, 200) : ''; };
  new K().open({
    sessionId: cfg.sessionId, clientId: cfg.clientId, environment: cfg.environment,
    product: 'transaction_link', merchantIds: [cfg.merchantId], entryPoint: 'orderlink-cli',
    // SDK 1.0.5+ passes one object; 1.0.3 passed (product, merchant) and (product, code, message).
    onSuccess: function (a, b) { report({ event: 'success', merchant: str(a && typeof a === 'object' ? a.merchant : b) }); },
    onError: function (a, b) { report({ event: 'error', error_code: str(a && typeof a === 'object' ? a.errorCode : b) || 'UNKNOWN' }); },
    onExit: function () { report({ event: 'exit' }); }
  });
})();
</script>
</body></html>
`;
}
