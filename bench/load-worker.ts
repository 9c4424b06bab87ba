// Runs one autocannon scenario in a worker thread, so the load generator does not share the event
// loop of the app under test (which runs in the main thread of the same process).
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  connections: number;
  /** Seconds; ignored when `paths` is given. */
  duration: number;
  /** One request per path, each sent once (for actions that can only succeed once, such as approve). */
  paths?: string[];
  /** With `paths`: the headers of each path (several operators), else `headers` for all. */
  pathHeaders?: Array<Record<string, string>>;
  /**
   * Each request's body gets its own number written over these bytes (a create sends a different receipt
   * each time, as operators do: the same file again is a duplicate receipt, filed one at a time).
   */
  numbered?: { offset: number; length: number; first?: number };
}

/** The body with request `n`'s number, zero-padded, over the `numbered` bytes. */
function numberedBody(body: Buffer, numbered: { offset: number; length: number }, n: number): Buffer {
  const copy = Buffer.from(body);
  copy.write(String(n).padStart(numbered.length, '0').slice(-numbered.length), numbered.offset, 'latin1');
  return copy;
}

export interface LoadSummary {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  average: number;
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** autocannon's own result, its histograms encoded: several runs' latencies are pooled from it (bench/pooled.ts). */
  raw?: unknown;
}

async function run(job: LoadJob): Promise<LoadSummary> {
  const body = job.body ? Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength) : undefined;
  const base = {
    url: job.url,
    connections: job.connections,
    method: job.method,
    headers: job.headers,
    body,
    timeout: 30,
  };
  let options: autocannon.Options;
  // A fixed set of paths ends with its last answer, but autocannon reports the run when its next sample
  // tick (each second) sees it has ended: its duration is rounded up to whole seconds. The elapsed time of
  // such a run is timed here instead, from the first request to the last answer.
  let firstSent = 0;
  let lastAnswered = 0;
  if (job.paths) {
    const paths = job.paths;
    let next = 0;
    options = {
      ...base,
      amount: paths.length,
      requests: [
        {
          method: job.method,
          setupRequest: (request) => {
            if (firstSent === 0) firstSent = performance.now();
            const n = next++ % paths.length;
            return { ...request, path: paths[n], headers: job.pathHeaders?.[n] ?? request.headers };
          },
          onResponse: () => {
            lastAnswered = performance.now();
          },
        },
      ],
    };
  } else if (job.numbered && body) {
    const numbered = job.numbered;
    let n = numbered.first ?? 0;
    options = {
      ...base,
      duration: job.duration,
      requests: [{ setupRequest: (request) => ({ ...request, body: numberedBody(body, numbered, n++) }) }],
    };
  } else {
    options = { ...base, duration: job.duration };
  }
  // Off the main thread autocannon hands back encoded histograms: aggregate them here.
  const raw = await autocannon(options);
  const result = autocannon.aggregateResult([raw], options);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = Number(stat.count);
  const requests = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const seconds = job.paths && lastAnswered > firstSent ? (lastAnswered - firstSent) / 1000 : result.duration;
  return {
    requests,
    seconds,
    perSecond: requests / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    average: result.latency.average,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes,
    raw,
  };
}

run(workerData as LoadJob).then(
  (summary) => parentPort?.postMessage({ ok: true, summary }),
  (error) => parentPort?.postMessage({ ok: false, error: String((error as Error)?.stack ?? error) }),
);
