// The service's log lines, captured as parsed JSON for a test to read (a real pino logger, its own destination).
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';

export type Line = Record<string, unknown>;

/** A logger at `level` whose lines land, parsed, in `lines`, and as written in `raw`. */
export function capture(level: string) {
  const lines: Line[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(text);
        lines.push(JSON.parse(text) as Line);
      }
      done();
    },
  });
  return { lines, raw, logger: createLogger(level, destination) };
}
