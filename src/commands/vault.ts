/** `orderlink vault status | rotate | migrate --to SOURCE`: the key, never the secrets. */
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, usageError } from '../errors.js';
import { printJson, renderKeyValues } from '../ui/render.js';
import type { KeySourceKind } from '../vault/index.js';

const SOURCES: readonly KeySourceKind[] = ['keychain', 'env', 'passphrase'];

export function register(cmd: Command, app: App): void {
  cmd.addHelpText('after', '\nExamples:\n  $ orderlink vault status\n  $ orderlink vault rotate\n  $ orderlink vault migrate --to passphrase\n');
  cmd
    .command('status')
    .description('Show the key source, the number of secrets and the created/rotated dates (never a secret)')
    .addHelpText('after', '\nExamples:\n  $ orderlink vault status\n  $ orderlink vault status --json\n')
    .action(() => app.run('vault status', {}, runVaultStatus));
  cmd
    .command('rotate')
    .description('Re-seal every secret under a new random data key, atomically')
    .addHelpText('after', '\nExamples:\n  $ orderlink vault rotate\n')
    .action(() => app.run('vault rotate', {}, runVaultRotate));
  cmd
    .command('migrate')
    .description('Move the vault key to another source: keychain, env (prints a new key once) or passphrase')
    .requiredOption('--to <source>', `target key source: ${SOURCES.join(' | ')}`)
    .addHelpText(
      'after',
      '\nExamples:\n  $ orderlink vault migrate --to passphrase      # prompts, or reads ORDERLINK_VAULT_PASSPHRASE\n  $ orderlink vault migrate --to env             # prints ORDERLINK_VAULT_KEY once: store it in your CI secrets\n  $ orderlink vault migrate --to keychain\n',
    )
    .action((o: { to: string }) => {
      if (!SOURCES.includes(o.to as KeySourceKind)) throw usageError('BAD_OPTION', `--to must be one of ${SOURCES.join(', ')}, got "${o.to.slice(0, 20)}"`);
      return app.run('vault migrate', { to: o.to as KeySourceKind }, runVaultMigrate);
    });
}

function requireVault(ctx: Context): void {
  if (!ctx.hasVault()) {
    throw new OrderlinkError('VAULT_MISSING', 'there is no vault yet for this profile', {
      hint: 'It is created when you first link an account (`orderlink link`), or try `orderlink demo`.',
    });
  }
}

export async function runVaultStatus(ctx: Context): Promise<number> {
  requireVault(ctx);
  const s = (await ctx.vault()).status();
  if (ctx.json) {
    printJson(ctx.io, {
      path: s.path,
      key_source: s.keySource,
      backend: s.backend,
      durable: s.durable,
      secrets: s.secrets,
      created_at: s.createdAt,
      rotated_at: s.rotatedAt,
      generation: s.generation,
      warnings: s.warnings,
    });
    return 0;
  }
  renderKeyValues(ctx.io, [
    ['vault', s.path],
    ['key source', `${s.keySource} (${s.backend})`],
    ['durable', s.durable ? 'yes' : ctx.io.color.yellow('no — move the key with `orderlink vault migrate`')],
    ['secrets', s.secrets],
    ['created', s.createdAt],
    ['rotated', s.rotatedAt ?? 'never'],
    ['generation', s.generation],
  ]);
  for (const w of s.warnings) ctx.io.err(`${ctx.io.errColor.yellow('!')} ${w}`);
  return 0;
}

export async function runVaultRotate(ctx: Context): Promise<number> {
  requireVault(ctx);
  const vault = await ctx.vault();
  await vault.rotate();
  const s = vault.status();
  ctx.audit('vault.rotate', null, { key_source: s.keySource, secrets: s.secrets, generation: s.generation });
  if (ctx.json) printJson(ctx.io, { rotated: true, secrets: s.secrets, rotated_at: s.rotatedAt });
  else ctx.io.out(`${ctx.io.color.green('✓')} re-sealed ${s.secrets} secret${s.secrets === 1 ? '' : 's'} under a new key (${s.keySource})`);
  return 0;
}

export async function runVaultMigrate(ctx: Context, opts: { to: KeySourceKind }): Promise<number> {
  requireVault(ctx);
  const vault = await ctx.vault();
  const from = vault.keySource;
  if (from === opts.to) {
    ctx.io.err(`The vault key is already kept in ${opts.to}; nothing to do.`);
    return 0;
  }
  let passphrase: string | undefined;
  if (opts.to === 'passphrase') {
    passphrase = ctx.env.ORDERLINK_VAULT_PASSPHRASE;
    if (!passphrase) {
      if (!(ctx.io.stdinIsTTY && ctx.io.stderrIsTTY)) {
        throw usageError('PASSPHRASE_REQUIRED', 'migrating to a passphrase needs ORDERLINK_VAULT_PASSPHRASE or a terminal to prompt on');
      }
      const p1 = await ctx.prompter().password('New vault passphrase');
      const p2 = await ctx.prompter().password('Repeat the passphrase');
      if (p1 !== p2) throw usageError('PASSPHRASE_MISMATCH', 'the two passphrases differ; nothing was changed');
      passphrase = p1;
    }
    if (passphrase.length < 8) throw usageError('PASSPHRASE_WEAK', 'use a passphrase of at least 8 characters; nothing was changed');
  }
  const result = await vault.migrate(opts.to, passphrase === undefined ? {} : { passphrase });
  ctx.audit('vault.migrate', null, { from, to: opts.to });
  if (ctx.json) {
    printJson(ctx.io, { migrated: true, from, to: opts.to, ...(result?.envKey ? { ORDERLINK_VAULT_KEY: result.envKey } : {}) });
    return 0;
  }
  ctx.io.err(`${ctx.io.errColor.green('✓')} the vault key moved from ${from} to ${opts.to}`);
  if (result?.envKey) {
    ctx.io.err('Set this in the environment of every orderlink run (it is shown once, and never stored by orderlink):');
    ctx.io.out(`ORDERLINK_VAULT_KEY=${result.envKey}`);
  }
  return 0;
}
