/**
 * `orderlink link` with no connector: "Where do you shop?", the consent text from seed 000, then
 * the route for that retailer — an honest "not in this build yet" for the P0 retailers (whose
 * paths are an aggregator or an export), and the real loopback flow for the sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLink, type LinkOptions } from '../src/commands/link.js';
import type { Prompter } from '../src/context.js';
import { visitWithRedirects } from '../src/demo/browser.js';
import { CONSENT_TEXT } from '../src/link/picker.js';
import { startSandbox, type SandboxHandle } from '../src/sandbox/index.js';
import { newEnvKey, testContext } from './helpers/context.js';

const base: LinkOptions = { browser: true, timeoutSeconds: 30, manual: false, refreshTokenStdin: false };

function scripted(choice: string, asked: string[]): Prompter {
  return {
    password: async () => '',
    input: async () => '',
    confirm: async (message) => {
      asked.push(message);
      return true;
    },
    search: async <T extends string>(message: string, choices: Array<{ value: T; name: string; description?: string }>) => {
      asked.push(message, ...choices.map((c) => c.name));
      const c = choices.find((x) => x.value.startsWith(choice));
      if (!c) throw new Error(`no choice ${choice}`);
      return c.value;
    },
  };
}

describe('link without a connector', () => {
  let sb: SandboxHandle;
  beforeAll(async () => {
    sb = await startSandbox({ autoConsent: true, orders: 20 });
  });
  afterAll(async () => {
    await sb.close();
  });

  it('asks where you shop, shows the consent text, and routes Amazon to its export (where to get it, what to run)', async () => {
    const asked: string[] = [];
    const t = testContext({ tty: true, prompter: scripted('Amazon', asked) });
    try {
      expect(await runLink(t.ctx, base)).toBe(0);
      expect(asked[0]).toBe('Where do you shop?');
      expect(asked.join('\n')).toMatch(/Amazon[\s\S]*Walmart[\s\S]*Target[\s\S]*Macy's/);
      expect(t.io.stderrText()).toContain(CONSENT_TEXT);
      expect(t.io.stderrText()).toMatch(/orderlink import amazon PATH/);
      expect(t.ctx.store().connections.list()).toEqual([]);
      expect(t.ctx.store().audit.list().map((a) => a.action)).toEqual(['consent.shown', 'link.import_explained']);
    } finally {
      t.cleanup();
    }
  });

  it('says exactly what to set up when the only route is an aggregator that is not set up (or not in this build)', async () => {
    const asked: string[] = [];
    const t = testContext({ tty: true, prompter: scripted('Walmart', asked) });
    try {
      expect(await runLink(t.ctx, base)).toBe(1);
      expect(t.io.stderrText()).toMatch(/orderlink connector setup knot|not in this build of orderlink yet/);
      expect(t.ctx.store().connections.list()).toEqual([]);
      expect(t.ctx.store().audit.list().map((a) => a.action)).toEqual(['consent.shown', 'link.unavailable']);
    } finally {
      t.cleanup();
    }
  });

  it('routes the sandbox to the real loopback flow and links it', async () => {
    const asked: string[] = [];
    const t = testContext({
      tty: true,
      env: { ORDERLINK_VAULT_KEY: newEnvKey(), ORDERLINK_SANDBOX_URL: sb.issuer },
      prompter: scripted('orderlink sandbox', asked),
      openBrowser: async (url) => {
        void visitWithRedirects(url);
      },
    });
    try {
      expect(await runLink(t.ctx, base)).toBe(0);
      expect(asked.some((a) => /^Link orderlink sandbox/.test(a))).toBe(true);
      const [c] = t.ctx.store().connections.list();
      expect(c).toMatchObject({ connector: 'sandbox', status: 'active' });
      expect(t.io.stderrText()).toMatch(/Linked sandbox:default/);
    } finally {
      t.cleanup();
    }
  });

  it('without a terminal to ask on, says to name a connector (exit 2)', async () => {
    const t = testContext({ tty: false });
    try {
      await expect(runLink(t.ctx, base)).rejects.toMatchObject({ code: 'CONNECTOR_REQUIRED', exitCode: 2 });
    } finally {
      t.cleanup();
    }
  });
});
