// When a create's upload progress goes out (SPEC section 7): a handful of reports while the file streams,
// none made by the last chunk, and none for a small body read at once. The NOTIFYs are recorded, not sent.
import type { ServiceContext } from '../../src/domain/context';
import { uploadProgress } from '../../src/services/upload-progress';

function recording() {
  const percents: number[] = [];
  const em = {
    execute: async (_sql: string, params: [string, string]) => {
      percents.push(JSON.parse(params[1]).data.percent as number);
      return [];
    },
  };
  const log = { warn: () => undefined };
  const ctx = { em, log, operator: { id: 'o' } } as unknown as ServiceContext;
  return { ctx, percents };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a small body read at once sends no report: CREATED says more', async () => {
  const { ctx, percents } = recording();
  const progress = uploadProgress(ctx, 'p', 'r', 100 * 1024);
  progress.report(64 * 1024);
  progress.report(100 * 1024);
  await progress.end();
  jest.advanceTimersByTime(1_000);
  expect(percents).toEqual([]);
});

test('a small body still streaming 50 ms later reports, with the latest percent', async () => {
  const { ctx, percents } = recording();
  const progress = uploadProgress(ctx, 'p', 'r', 100 * 1024);
  progress.report(30 * 1024);
  progress.report(60 * 1024);
  jest.advanceTimersByTime(50);
  await progress.end();
  expect(percents).toEqual([60]);
});

test('a large body reports as it streams, each report going out with the next chunk, not the last one', async () => {
  const { ctx, percents } = recording();
  const size = 4 * 1024 * 1024;
  const progress = uploadProgress(ctx, 'p', 'r', size);
  for (let bytes = 64 * 1024; bytes <= size; bytes += 64 * 1024) progress.report(bytes);
  await progress.end();
  expect(percents.length).toBeGreaterThanOrEqual(2);
  expect(percents.length).toBeLessThanOrEqual(3);
  expect([...percents].sort((a, b) => a - b)).toEqual(percents);
});
