import { randomUUID } from 'node:crypto';
import { hintPayloads } from '../../src/runtime/progress-notifier';

test('one payload names each partner with its highest stored id', () => {
  const a = randomUUID();
  const b = randomUUID();
  const payloads = hintPayloads(
    new Map([
      [a, 41n],
      [b, 9223372036854775807n],
    ]),
  );
  expect(payloads.map((p) => JSON.parse(p) as unknown)).toEqual([
    { stored: { [a]: '41', [b]: '9223372036854775807' } },
  ]);
});

test('many partners are split over payloads under the 8,000-byte NOTIFY limit, none left out', () => {
  const hints = new Map(Array.from({ length: 1000 }, (_, i) => [randomUUID(), BigInt(i + 1)] as const));
  const payloads = hintPayloads(hints);
  expect(payloads.length).toBeGreaterThan(1);
  for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
  const merged = Object.assign(
    {},
    ...payloads.map((p) => (JSON.parse(p) as { stored: Record<string, string> }).stored),
  ) as Record<string, string>;
  expect(merged).toEqual(Object.fromEntries([...hints].map(([k, v]) => [k, String(v)])));
});

test('nothing stored, nothing sent', () => {
  expect(hintPayloads(new Map())).toEqual([]);
});
