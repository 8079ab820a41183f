/**
 * The replica's stand-in for Knot's web SDK (`knotapi-js`, types from knotapi-js@1.0.5):
 * `new KnotapiJS().open(config)` with `sessionId`, `clientId`, `environment`, `product`,
 * `merchantIds` and the `onSuccess` / `onError` / `onEvent` / `onExit` callbacks. Where the real
 * SDK shows Knot's login UI for the merchant, this one logs in at once with the documented
 * development login (`user_good_transactions` / `pass_good`) against the replica that served it,
 * then calls `onSuccess({ merchant })` — or `onError({ errorCode, errorDescription })`.
 */
export const FAKE_SDK = `(function () {
  var script = document.currentScript;
  var base = new URL(script && script.src ? script.src : location.href).origin;
  function KnotapiJS() {}
  KnotapiJS.prototype.open = function (config) {
    var product = config.product || 'transaction_link';
    var merchantId = (config.merchantIds || [])[0];
    if (config.onEvent) config.onEvent({ event: 'MERCHANT_CLICKED', merchantId: String(merchantId), product: product, environment: config.environment });
    fetch(base + '/sdk/authenticate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: config.sessionId, client_id: config.clientId, merchant_id: merchantId, username: 'user_good_transactions', password: 'pass_good' })
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, body: j }; });
    }).then(function (x) {
      if (x.ok) { if (config.onSuccess) config.onSuccess({ merchant: x.body.merchant.name, product: product }); }
      else if (config.onError) config.onError({ errorCode: x.body.error_code, errorDescription: x.body.error_message, product: product });
    }, function () {
      if (config.onError) config.onError({ errorCode: 'NETWORK_ERROR', errorDescription: 'could not reach Knot', product: product });
    });
  };
  window.KnotapiJS = KnotapiJS;
})();
`;
