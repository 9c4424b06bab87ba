// REST JSON (src/http/json.ts): JSON.stringify's output for everything but money, which goes out as a bare
// number written from its exact decimal text.
import { Decimal } from '../../src/domain/money';
import { stringify } from '../../src/http/json';

class Named {
  readonly kind = 'named';
  constructor(readonly name: string) {}
  describe(): string {
    return this.name;
  }
}

const samples: Record<string, unknown> = {
  'plain scalars': { s: 'text', n: 12.5, z: 0, neg: -3, t: true, f: false, nothing: null },
  'numbers JSON has no form for': { nan: NaN, inf: Infinity, minusZero: -0, big: 1e21, tiny: 5e-7 },
  'strings that need escaping': {
    quote: 'say "hi"',
    slash: 'a\\b',
    control: 'line\nnext\ttab\u0001\u001f',
    unicode: 'ñ € 😀 \u2028 \u2029',
    lone: '\ud800',
  },
  'keys that need escaping': { 'a"b': 1, 'new\nline': 2, ñ: 3, '': 4, '10': 5, '2': 6 },
  'undefined properties left out, undefined items null': { a: undefined, list: [1, undefined, 3] },
  'nested arrays and objects': { page: [{ id: 'x', tags: [], deep: { deeper: [[{}], [null]] } }] },
  'a class instance: own fields only': new Named('n'),
  'an object with no prototype': Object.assign(Object.create(null) as object, { x: 1 }),
  'dates as ISO text, an invalid one null': {
    at: new Date('2026-12-07T05:40:00.123Z'),
    list: [new Date(0), new Date(NaN)],
  },
  'a top-level array and scalars': [[1, 'a', null], 'b', 7],
};

test.each(Object.entries(samples))('%s: what JSON.stringify writes', (_name, value) => {
  expect(stringify(value)).toBe(JSON.stringify(value));
});

test('money is a bare number from its exact text, anywhere in the value', () => {
  const body = {
    available: new Decimal('10000.50'),
    entries: [{ amount: new Decimal('-0.0001') }, { amount: new Decimal('123456789012345678.1234') }],
  };
  expect(stringify(body)).toBe(
    '{"available":10000.50,"entries":[{"amount":-0.0001},{"amount":123456789012345678.1234}]}',
  );
  expect(stringify(new Decimal('7'))).toBe('7');
});

test('many made-up keys: every one written right past the ones remembered', () => {
  const wide = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`key-${i}"`, i]));
  expect(stringify(wide)).toBe(JSON.stringify(wide));
  expect(stringify(wide)).toBe(JSON.stringify(wide));
});
