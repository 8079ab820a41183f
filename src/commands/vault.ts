/** `orderlink vault status | rotate | migrate --to SOURCE`: the key, never the secrets. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { App } from '../cli.js';
import type { Context } from '../context.js';
import { OrderlinkError, usageError } from '../errors.js';
import { printJson, renderKeyValues } from '../ui/render.js';
import type { KeySourceKind, MigrateResult } from '../vault/index.js';

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
    .command('recreate')
    .description('Start a new, empty vault when vault.bin is gone and there is no backup (connections must then be re-linked)')
    .option('--yes', 'confirm: the tokens in the lost vault are not coming back', false)
    .addHelpText('after', '\nRestore vault.bin from a backup instead if you have one (docs/backup.md).\n\nExamples:\n  $ orderlink vault recreate --yes && orderlink link --reconnect sandbox:work\n')
    .action((o: { yes: boolean }) => app.run('vault recreate', { yes: o.yes }, runVaultRecreate));
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

/** No vault file: a fresh profile (nothing to show), or a lost vault.bin (ctx.vault() refuses, VAULT_FILE_MISSING). */
async function requireVault(ctx: Context): Promise<void> {
  if (!ctx.hasVault()) {
    if (existsSync(ctx.paths.db) && ctx.store().vaultGeneration().get() > 0) await ctx.vault();
    throw new OrderlinkError('VAULT_MISSING', 'there is no vault yet for this profile', {
      hint: 'It is created when you first link an account (`orderlink link`), or try `orderlink demo`.',
    });
  }
}

export async function runVaultStatus(ctx: Context): Promise<number> {
  await requireVault(ctx);
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
    s.durable ? ['durable', 'yes'] : ['durable', 'no — move the key with `orderlink vault migrate`', ctx.io.color.yellow],
    ['secrets', s.secrets],
    ['created', s.createdAt],
    ['rotated', s.rotatedAt ?? 'never'],
    ['generation', s.generation],
  ]);
  for (const w of s.warnings) ctx.io.err(`${ctx.io.errColor.yellow('!')} ${w}`);
  return 0;
}

/**
 * Before changing any key: the database must take a write now (its generation mark is updated
 * with the vault), else a locked database (exit 7) is reported while the old key still works.
 */
function preflightDatabase(ctx: Context): void {
  const db = ctx.store().db;
  db.exec('BEGIN IMMEDIATE');
  db.exec('ROLLBACK');
}

/** After the key has changed, a failing audit write must not turn a success into an error. */
function auditAfter(ctx: Context, action: string, detail: Record<string, unknown>): void {
  try {
    ctx.audit(action, null, detail);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    ctx.io.err(`${ctx.io.errColor.yellow('!')} the change is done, but its audit entry could not be written (${typeof code === 'string' ? code : 'error'})`);
  }
}

export async function runVaultRotate(ctx: Context): Promise<number> {
  await requireVault(ctx);
  const vault = await ctx.vault();
  preflightDatabase(ctx);
  await vault.rotate();
  const s = vault.status();
  auditAfter(ctx, 'vault.rotate', { key_source: s.keySource, secrets: s.secrets, generation: s.generation });
  if (ctx.json) printJson(ctx.io, { rotated: true, secrets: s.secrets, rotated_at: s.rotatedAt });
  else ctx.io.out(`${ctx.io.color.green('✓')} re-sealed ${s.secrets} secret${s.secrets === 1 ? '' : 's'} under a new key (${s.keySource})`);
  return 0;
}

export async function runVaultMigrate(ctx: Context, opts: { to: KeySourceKind }): Promise<number> {
  await requireVault(ctx);
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
  preflightDatabase(ctx);
  // A new env key exists only in this process until it is printed: it is delivered (and the
  // write confirmed) BEFORE the vault is sealed under it. If stdout fails (a full disk, a closed
  // pipe), nothing changes and the old key source keeps working.
  let delivered = false;
  const deliver = async (r: MigrateResult): Promise<void> => {
    if (!r.envKey) return;
    const payload = ctx.json
      ? JSON.stringify({ migrated: true, from, to: opts.to, ...(r.envKey ? { ORDERLINK_VAULT_KEY: r.envKey } : {}) }, null, 2) + '\n'
      : `ORDERLINK_VAULT_KEY=${r.envKey}\n`;
    if (!ctx.json) ctx.io.err('Set this in the environment of every orderlink run (it is shown once, and never stored by orderlink):');
    try {
      await ctx.io.deliver(payload);
    } catch (err) {
      const why = err instanceof OrderlinkError ? err.message : 'cannot write to standard output';
      // With --json the error document goes to the same broken stdout: say it on stderr too.
      if (ctx.json) ctx.io.err(`error: the new key could not be written to standard output (${why}); nothing was changed`);
      throw new OrderlinkError('KEY_NOT_DELIVERED', `the new key could not be delivered (${why}); nothing was changed: the vault still opens with its ${from} key`, {
        hint: 'Run again with standard output going to a terminal, or to a file on a disk with room (e.g. `orderlink vault migrate --to env > key.txt`, then move the key into your secrets and delete the file).',
      });
    }
    delivered = true;
  };
  try {
    await vault.migrate(opts.to, { ...(passphrase === undefined ? {} : { passphrase }), beforeSwitch: deliver });
  } catch (err) {
    if (delivered) ctx.io.err(`${ctx.io.errColor.red('✗')} the key printed above was NOT applied: discard it; the vault still opens with its ${from} key.`);
    throw err;
  }
  auditAfter(ctx, 'vault.migrate', { from, to: opts.to });
  if (ctx.json) {
    if (!delivered) printJson(ctx.io, { migrated: true, from, to: opts.to });
    return 0;
  }
  ctx.io.err(`${ctx.io.errColor.green('✓')} the vault key moved from ${from} to ${opts.to}`);
  return 0;
}

/** `vault recreate --yes`: the explicit way to start over when vault.bin is lost and no backup exists. */
export async function runVaultRecreate(ctx: Context, o: { yes: boolean }): Promise<number> {
  if (ctx.hasVault()) throw new OrderlinkError('VAULT_EXISTS', `there is a vault at ${ctx.paths.vault}; nothing to recreate`, { hint: 'To change its key use `orderlink vault rotate` or `orderlink vault migrate`.' });
  if (!o.yes) throw usageError('CONFIRM_REQUIRED', 'vault recreate starts an empty vault: the tokens in the lost one are not coming back', 'Restore vault.bin from a backup if you have one (docs/backup.md); otherwise run again with --yes.');
  const { openVault } = await import('../vault/index.js');
  const store = ctx.store();
  const vault = await openVault({ path: ctx.paths.vault, profile: ctx.profile, env: ctx.env, generation: store.vaultGeneration(), allowRecreate: true });
  const s = vault.status();
  const lost = store.connections.list().filter((c) => c.tokenRef && c.status !== 'revoked');
  for (const c of lost) store.connections.update(c.id, { status: 'reauth_required', lastError: 'the vault was recreated; link again' });
  auditAfter(ctx, 'vault.recreate', { key_source: s.keySource, generation: s.generation, connections: lost.length });
  if (ctx.json) printJson(ctx.io, { recreated: true, key_source: s.keySource, reauth_required: lost.map((c) => c.id) });
  else {
    ctx.io.err(`${ctx.io.errColor.green('✓')} a new, empty vault (${s.keySource}) is at ${s.path}`);
    for (const c of lost) ctx.io.err(`  re-link: orderlink link --reconnect ${c.id}`);
  }
  return 0;
}
