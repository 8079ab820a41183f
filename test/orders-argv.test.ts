/**
 * `orders` and `orders stats` argv is read without commander on the start-up path
 * (src/commands/orders-argv.ts). The rule it must keep: for any argv it answers for, the command,
 * its options and the program-wide options are exactly commander's; for everything commander
 * refuses (usage errors, help, version) it answers null, so commander prints the error — the
 * errors are commander's by construction. Checked over every flag of both commands, valid and
 * invalid values, every position, and a few thousand seeded random mixtures.
 */
import { describe, expect, it } from 'vitest';
import type { Command, Option } from 'commander';
import { buildProgram, parseWithCommander } from '../src/cli.js';
import { GLOBAL_FLAGS, ORDERS_FLAGS, parseOrdersArgv, STATS_ONLY_FLAGS } from '../src/commands/orders-argv.js';
import { captureIO } from '../src/ui/io.js';

const VALUES: Record<string, string[]> = {
  '--home': ['/tmp/h', 'orders', 'stats'],
  '--profile': ['work', '../evil', 'Work'],
  '--connection': ['2', 'sandbox:work'],
  '--retailer': ['Target', 'stats', ''],
  '--since': ['90d', '2026-01-31', '2026-02-30', '3mo', '1y', '2026-13', 'soon'],
  '--until': ['2026-03', '30d', '2026-13-01', '2026-03-31T10:00:00Z'],
  '--status': ['delivered', 'shipped,cancelled', 'nope', ','],
  '--currency': ['usd', 'EUR', 'dollars'],
  '--category': ['Home', 'orders'],
  '--min': ['10', 'ten', '0.12345', '99.5'],
  '--max': ['99.5', '1e3'],
  '--search': ['coffee beans', 'stats', '"'],
  '-s': ['x'],
  '--limit': ['20', '0', 'abc', '1.5', '9007199254740993'],
  '-n': ['5'],
  '--sort': ['total', 'TOTAL', ' retailer ', 'size'],
  '--by': ['retailer', 'Month', 'week'],
  '--top': ['5', '0', '1000', '1001'],
};
/** Tokens commander may read differently (or refuses) that the fast reader must leave alone. */
const ODD = ['--help', '-h', '--version', '-V', '--', '--limit=5', '-n5', '-vn', 'show', 'help', 'extra', '--nosuch', '-x', '-5', '--no-json'];

async function same(argv: string[]) {
  const fast = parseOrdersArgv(argv, process.env);
  const commander = await parseWithCommander(argv, captureIO());
  if (commander === null) expect(fast, `${JSON.stringify(argv)}: commander refuses it`).toBeNull();
  if (fast !== null) expect(fast, JSON.stringify(argv)).toStrictEqual(commander);
  return { fast: fast !== null, commander: commander !== null };
}

function flagTokens(flag: string): string[][] {
  const values = VALUES[flag];
  return values ? [...values.map((v) => [flag, v]), [flag]] : [[flag]];
}

describe('orders argv without commander', () => {
  it('declares the flag surface commander registers for the program, orders and orders stats', async () => {
    const program = await buildProgram(['orders'], captureIO(), { run: async () => {} });
    const orders = program.commands.find((c) => c.name() === 'orders')!;
    const stats = orders.commands.find((c) => c.name() === 'stats')!;
    const surface = (cmd: Command, skip: (o: Option) => boolean) =>
      Object.fromEntries(
        cmd.options.filter((o) => !skip(o)).flatMap((o) => [o.short, o.long].filter((f): f is string => !!f).map((f) => [f, { key: o.attributeName(), value: o.required, negate: o.negate }])),
      );
    const ours = (flags: typeof GLOBAL_FLAGS) => Object.fromEntries(Object.entries(flags).map(([f, d]) => [f, { key: d.key, value: !!d.parse, negate: !!d.negate }]));
    expect(ours(GLOBAL_FLAGS)).toEqual(surface(program, (o) => o.long === '--version'));
    expect(ours(ORDERS_FLAGS)).toEqual(surface(orders, () => false));
    const ordersLongs = new Set(orders.options.map((o) => o.long));
    expect(ours(STATS_ONLY_FLAGS)).toEqual(surface(stats, (o) => ordersLongs.has(o.long)));
  });

  it('the hot invocations are read without commander', async () => {
    for (const argv of [['orders', '--limit', '20'], ['orders', 'stats'], ['orders'], ['--json', 'orders', 'stats', '--by', 'retailer']]) expect((await same(argv)).fast, argv.join(' ')).toBe(true);
  });

  it('every flag, value and position: the same options as commander, or left to commander', async () => {
    const globals = [[], ['--json'], ['-v', '--no-color'], ['--verbose']];
    const listFlags = [...Object.keys(GLOBAL_FLAGS), ...Object.keys(ORDERS_FLAGS), ...Object.keys(STATS_ONLY_FLAGS)];
    let fast = 0;
    let total = 0;
    for (const flag of listFlags) {
      for (const tokens of flagTokens(flag)) {
        for (const g of globals) {
          for (const argv of [
            [...g, 'orders', ...tokens],
            ['orders', ...tokens, ...g],
            [...tokens, 'orders'],
            ['orders', 'stats', ...tokens, ...g],
            [...g, 'orders', ...tokens, 'stats'],
            ['orders', ...g, 'stats', ...tokens, '--header'],
          ]) {
            total++;
            if ((await same(argv)).fast) fast++;
          }
        }
      }
    }
    for (const odd of ODD) for (const argv of [['orders', odd], ['orders', 'stats', odd], [odd, 'orders'], ['orders', '--limit', odd], ['orders', odd, 'stats']]) await same(argv);
    expect(fast / total).toBeGreaterThan(0.4);
  }, 120_000);

  it('seeded random mixtures of flags, repeats and positions', async () => {
    let seed = 12;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pool = [...Object.keys(GLOBAL_FLAGS), ...Object.keys(ORDERS_FLAGS), ...Object.keys(STATS_ONLY_FLAGS)].flatMap(flagTokens);
    let fast = 0;
    for (let i = 0; i < 1500; i++) {
      const parts: string[][] = [];
      for (let k = rand(5); k >= 0; k--) parts.push(pool[rand(pool.length)]!);
      if (rand(20) === 0) parts.push([ODD[rand(ODD.length)]!]);
      parts.splice(rand(parts.length + 1), 0, ['orders']);
      if (rand(2)) parts.splice(rand(parts.length + 1), 0, ['stats']);
      if ((await same(parts.flat())).fast) fast++;
    }
    expect(fast).toBeGreaterThan(200);
  }, 120_000);

  it('ORDERLINK_PROFILE is the default profile for both readers', async () => {
    const before = process.env.ORDERLINK_PROFILE;
    process.env.ORDERLINK_PROFILE = 'work';
    try {
      expect((await same(['orders', 'stats'])).fast).toBe(true);
      expect(parseOrdersArgv(['orders'], process.env)?.globals.profile).toBe('work');
    } finally {
      if (before === undefined) delete process.env.ORDERLINK_PROFILE;
      else process.env.ORDERLINK_PROFILE = before;
    }
  });
});
