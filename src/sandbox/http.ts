/** Small HTTP helpers shared by the sandbox's own routes (API, admin, interaction pages). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Page security: nothing external, no framing, no referrer; forms may post here and redirect to loopback. */
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'",
};

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'Content-Length': Buffer.byteLength(html) });
  res.end(html);
}

/** Read a request body up to `limit` bytes; rejects (413) beyond it. */
export async function readBody(req: IncomingMessage, limit = 16 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
main{max-width:440px;margin:48px auto;padding:0 16px}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.06);padding:28px}
.brand{display:flex;align-items:center;gap:10px;font-weight:600;color:#4b5563;margin-bottom:18px}
.logo{width:28px;height:28px;border-radius:8px;background:linear-gradient(135deg,#2563eb,#7c3aed)}
h1{font-size:1.3rem;margin:0 0 8px}p{margin:8px 0;color:#374151}.muted{color:#6b7280;font-size:.9rem}
.badge{display:inline-block;background:#fef3c7;color:#92400e;border-radius:999px;padding:2px 10px;font-size:.8rem;font-weight:600}
ul.scopes{list-style:none;padding:0;margin:16px 0}ul.scopes li{padding:10px 12px;border:1px solid #e5e7eb;border-radius:8px;margin:6px 0}
ul.scopes code{color:#6b7280;font-size:.8rem}
.accounts button{display:block;width:100%;text-align:left;margin:8px 0;padding:12px 14px;border:1px solid #d1d5db;border-radius:8px;background:#fff;font:inherit;cursor:pointer}
.accounts button:hover,.accounts button:focus{border-color:#2563eb;background:#eff6ff}
.accounts small{display:block;color:#6b7280}
.actions{display:flex;gap:10px;margin-top:20px}.actions button{flex:1;padding:11px;border-radius:8px;font:inherit;font-weight:600;cursor:pointer}
.approve{background:#2563eb;color:#fff;border:0}.approve:hover{background:#1d4ed8}.deny{background:#fff;color:#374151;border:1px solid #d1d5db}
.safe{background:#ecfdf5;color:#065f46;border-radius:8px;padding:10px 12px;margin-top:12px;font-size:.92rem}
pre{white-space:pre-wrap;word-break:break-word;background:#f9fafb;padding:10px;border-radius:8px}
`;

/** A complete page. `body` must already be escaped; `title` is escaped here. */
export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · orderlink sandbox</title><style>${CSS}</style></head>
<body><main><div class="card"><div class="brand"><span class="logo"></span>Sandbox Shop <span class="badge">SANDBOX</span></div>
${body}
</div><p class="muted" style="text-align:center">orderlink sandbox provider · test data only</p></main></body></html>`;
}
