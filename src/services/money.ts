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

/** Largest amount a request may ask for: 999,999,999,999,999 (whole units). */
const MAX_INTEGER_DIGITS = 15;
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}

/** ISO 4217 minor digits (2 for USD, 0 for JPY, 3 for BHD), capped by the NUMERIC(19,4) column. */
export function currencyDigits(currency: string): number {
  const digits =
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return Math.min(digits, 4);
}

/**
 * Validates a requested amount exactly as SPEC section 4 says and returns it normalized
 * ("0010.50" → "10.50"). Throws VALIDATION_FAILED naming what is wrong.
 */
export function parseAmount(raw: unknown, currency: string, field = 'requestedAmount'): string {
  const fail = (reason: string) => new DomainError('VALIDATION_FAILED', `${field} ${reason}`, { field });
  if (raw === undefined || raw === null || raw === '') throw fail('is required');
  if (typeof raw !== 'string') throw fail('must be a decimal string');
  const match = /^(\d+)(?:\.(\d+))?$/.exec(raw);
  if (!match) throw fail('must be a plain positive decimal such as 10000 or 10000.50');
  const integer = match[1].replace(/^0+(?=\d)/, '');
  const fraction = match[2] ?? '';
  const digits = currencyDigits(currency);
  if (fraction.length > digits) throw fail(`has more than ${digits} decimal places for ${currency}`);
  if (integer.length > MAX_INTEGER_DIGITS) throw fail('must be at most 999999999999999');
  if (/^0+$/.test(integer) && /^0*$/.test(fraction)) throw fail('must be greater than zero');
  return fraction.length > 0 ? `${integer}.${fraction}` : integer;
}

/** Formats a NUMERIC value from the database ("10000.0000") to the currency's digits ("10000.00"). */
export function formatAmount(value: string, currency: string): Decimal {
  const digits = currencyDigits(currency);
  const negative = value.startsWith('-');
  const [integer, fraction = ''] = (negative ? value.slice(1) : value).split('.');
  const kept = fraction.padEnd(digits, '0').slice(0, digits);
  if (/[1-9]/.test(fraction.slice(digits))) {
    // Never round silently; the column only ever holds amounts valid for the currency.
    throw new Error(`amount ${value} has more precision than ${currency} allows`);
  }
  return new Decimal(`${negative ? '-' : ''}${integer}${digits > 0 ? `.${kept}` : ''}`);
}
