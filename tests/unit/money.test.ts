// Money's pure core: the currency-scale rule and formatting stored NUMERIC text for a currency.
import { DomainError } from '../../src/domain/errors';
import {
  amountText,
  assertCurrencyScale,
  currencyDigits,
  formatAmount,
  isCurrency,
} from '../../src/domain/money';

test('currency digits follow ISO 4217, capped at the column scale of 4', () => {
  expect([
    currencyDigits('USD'),
    currencyDigits('JPY'),
    currencyDigits('BHD'),
    currencyDigits('CLF'),
  ]).toEqual([2, 0, 3, 4]);
  expect(isCurrency('USD')).toBe(true);
  expect(isCurrency('usd')).toBe(false);
  expect(isCurrency('XXQ')).toBe(false);
});

test.each([
  ['10', 'USD', true],
  ['10.5', 'USD', true],
  ['10.55', 'USD', true],
  ['10.555', 'USD', false],
  ['10', 'JPY', true],
  ['10.5', 'JPY', false],
  ['1.125', 'BHD', true],
])('%s in %s fits the currency: %s', (amount, currency, fits) => {
  const check = () => assertCurrencyScale(amount, currency);
  if (fits) expect(check).not.toThrow();
  else {
    expect(check).toThrow(DomainError);
    expect(check).toThrow(/requestedAmount has more than \d decimal places/);
  }
});

test.each([
  ['10000.0000', 'USD', '10000.00'],
  ['0.0000', 'USD', '0.00'],
  ['-250.5000', 'USD', '-250.50'],
  ['999999999999999.9900', 'USD', '999999999999999.99'],
  ['1500.0000', 'JPY', '1500'],
  ['1.1250', 'BHD', '1.125'],
  ['7', 'EUR', '7.00'],
])('formatAmount(%s, %s) = %s, exactly', (stored, currency, shown) => {
  const formatted = formatAmount(stored, currency);
  expect(formatted.value).toBe(shown);
  expect(JSON.stringify({ a: formatted })).toBe(`{"a":"${shown}"}`);
});

test('formatAmount never rounds away a digit the currency cannot show', () => {
  expect(() => formatAmount('10.0050', 'USD')).toThrow(/more precision than USD/);
});

test('amountText is formatAmount as text, for every shape the column returns', () => {
  const values = [
    '10',
    '-10',
    '0',
    '0.0000',
    '-0.0000',
    '10.5',
    '10.50',
    '10.5000',
    '-1234567.1200',
    '1.2',
    '7.0000',
  ];
  for (const currency of ['USD', 'JPY', 'BHD', 'CLF'])
    for (const value of values) {
      const digits = currencyDigits(currency);
      const fraction = value.split('.')[1] ?? '';
      if (/[1-9]/.test(fraction.slice(digits))) {
        expect(() => amountText(value, currency)).toThrow('more precision');
        expect(() => formatAmount(value, currency)).toThrow('more precision');
      } else {
        const [integer, kept = ''] = value.split('.');
        const expected = digits > 0 ? `${integer}.${kept.padEnd(digits, '0').slice(0, digits)}` : integer;
        expect({ value, currency, text: amountText(value, currency) }).toEqual({
          value,
          currency,
          text: expected,
        });
        expect(formatAmount(value, currency).value).toBe(expected);
      }
    }
});
