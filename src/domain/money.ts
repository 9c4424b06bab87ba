// Amounts are decimal strings end to end; the database does the arithmetic.
import { DomainError } from './errors';

/** An exact decimal amount on its way out of the service, already scaled to its currency. */
export class Decimal {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }

  toJSON(): string {
    return this.value;
  }
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}

/** Minor digits by currency, computed once: an Intl.NumberFormat costs about a millisecond to build. */
const DIGITS = new Map<string, number>();

/** ISO 4217 minor digits (2 for USD, 0 for JPY, 3 for BHD), capped by the NUMERIC(19,4) column. */
export function currencyDigits(currency: string): number {
  let digits = DIGITS.get(currency);
  if (digits === undefined) {
    const minor =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2;
    digits = Math.min(minor, 4);
    DIGITS.set(currency, digits);
  }
  return digits;
}

/**
 * The one rule an amount's shape (inputs.ts) cannot know: at most the currency's minor digits
 * ("10.5" is fine in USD, "10.5" is not in JPY). Throws VALIDATION_FAILED naming the field.
 */
export function assertCurrencyScale(amount: string, currency: string, field = 'requestedAmount'): void {
  const digits = currencyDigits(currency);
  if ((amount.split('.')[1] ?? '').length > digits) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `${field} has more than ${digits} decimal places for ${currency}`,
      {
        field,
      },
    );
  }
}

/** Formats a NUMERIC value from the database ("10000.0000") to the currency's digits ("10000.00"). */
export function formatAmount(value: string, currency: string): Decimal {
  return new Decimal(amountText(value, currency));
}

/** formatAmount's text, for writers that put it straight into their output (a statement: two per entry). */
export function amountText(value: string, currency: string): string {
  const digits = currencyDigits(currency);
  const dot = value.indexOf('.');
  if (dot < 0) return digits > 0 ? `${value}.${ZEROS.slice(0, digits)}` : value;
  const fraction = value.length - dot - 1;
  if (fraction <= digits) return value + ZEROS.slice(0, digits - fraction);
  for (let i = dot + 1 + digits; i < value.length; i++) {
    // Never round silently; the column only ever holds amounts valid for the currency.
    if (value[i] !== '0') throw new Error(`amount ${value} has more precision than ${currency} allows`);
  }
  return value.slice(0, digits > 0 ? dot + 1 + digits : dot);
}

const ZEROS = '0000';

/**
 * Compares two plain non-negative decimal strings exactly ("10.5" vs "10.50" are equal): -1, 0 or 1.
 * For rules such as policy tiers and approval limits, which must never go through a float.
 */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const split = (v: string) => {
    const [integer, fraction = ''] = v.split('.');
    return [integer.replace(/^0+(?=\d)/, ''), fraction.replace(/0+$/, '')];
  };
  const [ai, af] = split(a);
  const [bi, bf] = split(b);
  if (ai.length !== bi.length) return ai.length < bi.length ? -1 : 1;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const [x, y] = [af.padEnd(width, '0'), bf.padEnd(width, '0')];
  return x === y ? 0 : x < y ? -1 : 1;
}
