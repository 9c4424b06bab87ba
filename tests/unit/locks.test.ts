// Advisory lock numbers: one registry, every class its own, and no number written anywhere else.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ADVISORY_LOCKS } from '../../src/infra/locks';

const SRC = path.resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : [];
  });
}

test('every advisory lock class is distinct (the OTP lock no longer shares the liveness class)', () => {
  const numbers = Object.values(ADVISORY_LOCKS);
  expect(new Set(numbers).size).toBe(numbers.length);
  expect(ADVISORY_LOCKS.OTP).not.toBe(ADVISORY_LOCKS.LIVENESS);
});

test('no lock number is written outside the registry', () => {
  const registry = path.join(SRC, 'infra/locks.ts');
  const strays = sources(SRC)
    .filter((file) => file !== registry)
    .flatMap((file) =>
      [
        ...readFileSync(file, 'utf8').matchAll(
          /pg_(try_)?advisory_(xact_)?(un)?lock\(\s*\d|\b7272740\d\d\b/g,
        ),
      ].map((m) => `${path.relative(SRC, file)}: ${m[0]}`),
    );
  expect(strays).toEqual([]);
});
