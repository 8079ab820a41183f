/**
 * The consent text a person sees when linking, recorded in the audit trail with its version each
 * time it is shown (`consent.shown`: version, the text's SHA-256 and the text itself — it is not a
 * secret), so `orderlink audit --action consent` answers "what did I agree to, and when?". A
 * changed text gets a new version. Shown once per run: the picker and the link flow that follows
 * it share one record.
 */
import { createHash } from 'node:crypto';
import type { Context } from '../context.js';

/** What a person is told before linking (seed 000); picker.ts re-exports it. */
export const CONSENT_TEXT = 'We only access order history and basic profile info. We never access or store payment details.';

/** Bump when CONSENT_TEXT changes (c1: the text of seed 000). */
export const CONSENT_VERSION = 'c1';

export function consentRecord(): { version: string; text_sha256: string; text: string } {
  return { version: CONSENT_VERSION, text_sha256: createHash('sha256').update(CONSENT_TEXT).digest('hex'), text: CONSENT_TEXT };
}

const shown = new WeakSet<Context>();

/** Show the consent text on stderr and audit it, once per command run. */
export function showConsent(ctx: Context, connectionId: number | null, where: 'picker' | 'link'): void {
  if (shown.has(ctx)) return;
  shown.add(ctx);
  const io = ctx.io;
  io.err('');
  io.err(io.errColor.bold(CONSENT_TEXT));
  io.err('');
  ctx.audit('consent.shown', connectionId, { ...consentRecord(), shown_in: where });
}
