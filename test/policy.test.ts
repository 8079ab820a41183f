import { describe, expect, it } from 'vitest';
import { applyAllowList, applyPolicy, luhnValid, redactCardNumbers, CARD_REDACTION } from '../src/policy/index.js';
import { toMinorUnits, formatMinor, displayMoney } from '../src/connectors/money.js';

describe('policy: allow-list and card redaction', () => {
  it('keeps only allow-listed fields, through nested objects and arrays', () => {
    const raw = { id: 'A', payment: { card_number: '4111111111111111', last4: '1111' }, amounts: { total: '1.00', card: 'x' }, items: [{ name: 'n', secret: 's' }], note: 'hi' };
    expect(applyAllowList(raw, ['id', 'amounts.total', 'items[].name'])).toEqual({ id: 'A', amounts: { total: '1.00' }, items: [{ name: 'n' }] });
  });

  it('redacts Luhn-valid card numbers in any grouping and leaves other digit runs', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(redactCardNumbers('paid 4111 1111 1111 1111 ok')).toBe(`paid ${CARD_REDACTION} ok`);
    expect(redactCardNumbers('card 4111-1111-1111-1111')).toBe(`card ${CARD_REDACTION}`);
    expect(redactCardNumbers('x5555555555554444y')).toBe(`x${CARD_REDACTION}y`);
    expect(redactCardNumbers('tracking 1234567890123')).toBe('tracking 1234567890123'); // not Luhn-valid
    expect(redactCardNumbers('Pack of 12, 2026 edition')).toBe('Pack of 12, 2026 edition');
  });

  it('applies both to declared free-text fields only', () => {
    const out = applyPolicy({ id: '4111111111111111', items: [{ name: 'Gift 4111111111111111' }] }, ['id', 'items[].name'], ['items[].name']) as { id: string; items: Array<{ name: string }> };
    expect(out.items[0]!.name).toBe(`Gift ${CARD_REDACTION}`);
    expect(out.id).toBe('4111111111111111');
  });
});

describe('money in minor units', () => {
  it('uses each currency exponent exactly', () => {
    expect(toMinorUnits('12.34', 'USD')).toBe(1234);
    expect(toMinorUnits('1200', 'JPY')).toBe(1200);
    expect(toMinorUnits('12.345', 'KWD')).toBe(12345);
    expect(toMinorUnits('-4.37', 'EUR')).toBe(-437);
    expect(toMinorUnits('5.10', 'USD')).toBe(510);
    expect(toMinorUnits(72.1, 'USD')).toBe(7210);
    expect(() => toMinorUnits('12.5', 'JPY')).toThrow(/more decimals/);
    expect(() => toMinorUnits('abc', 'USD')).toThrow(/not a decimal/);
    expect(formatMinor(12345, 'KWD')).toBe('12.345');
    expect(formatMinor(-5, 'USD')).toBe('-0.05');
    expect(displayMoney(123456, 'JPY')).toBe('¥123,456');
    expect(displayMoney(123456, 'USD')).toBe('$1,234.56');
    expect(displayMoney(12345, 'KWD')).toBe('KWD 12.345');
  });
});
