// logDestination: the service's lines written in batches, none later than LOG_FLUSH_MS, none lost at exit.
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, LOG_FLUSH_MS, logDestination } from '../../src/logger';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'log-destination-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const linesOf = (file: string): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('a quiet process: a short line waits for the batch, then is written within the flush interval', async () => {
  const file = path.join(dir, 'quiet.log');
  const log = createLogger('info', logDestination(file));
  log.info({ requestId: 'r-1' }, 'request');
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(readFileSync(file, 'utf8')).toBe(''); // far below LOG_BATCH_BYTES: not written per line
  const started = Date.now();
  await until(() => readFileSync(file, 'utf8') !== '', 20 * LOG_FLUSH_MS);
  expect(linesOf(file)).toEqual([expect.objectContaining({ requestId: 'r-1', msg: 'request' })]);
  expect(Date.now() - started).toBeLessThan(10 * LOG_FLUSH_MS);
});

test('a steady process: every line arrives whole and in order, in far fewer writes than lines', async () => {
  const file = path.join(dir, 'steady.log');
  const log = createLogger('info', logDestination(file));
  const writes = jest.spyOn(fs, 'write');
  try {
    // A line every 2 ms: each earlier write has finished when the next line comes, so written line by line
    // there would be a write for each.
    const count = 100;
    for (let i = 0; i < count; i++) {
      log.info({ i, pad: 'x'.repeat(100) }, 'line');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await until(() => linesOf(file).length === count, 20 * LOG_FLUSH_MS);
    expect(linesOf(file).map((line) => line.i)).toEqual([...Array(count).keys()]);
    // About 200 bytes a line: a batch of LOG_BATCH_BYTES holds about 20, plus the timer's flushes.
    expect(writes.mock.calls.length).toBeLessThan(count / 5);
  } finally {
    writes.mockRestore();
  }
});

test('what is buffered at exit is written, to standard output (the default) and to a file', () => {
  const file = path.join(dir, 'exit.log');
  const script = `
    const { createLogger, logDestination } = require(${JSON.stringify(path.resolve('src/logger.ts'))});
    createLogger('info').fatal('uncaught error: the process stops');
    createLogger('info', logDestination(${JSON.stringify(file)})).fatal('to the file');
    process.exit(1);`;
  const run = spawnSync(
    process.execPath,
    ['-r', path.resolve('tests/support/swc-register.cjs'), '-e', script],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 1, stderr: '' });
  const fatal = (msg: string) => [expect.objectContaining({ level: 60, msg })];
  expect(
    run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as unknown),
  ).toEqual(fatal('uncaught error: the process stops'));
  expect(linesOf(file)).toEqual(fatal('to the file'));
});
