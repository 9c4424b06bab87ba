// Opens many SSE progress streams in a worker thread (off the app's event loop), reports when all are
// open, and then, for each stream, the moment a frame naming the awaited request arrives.
import { request, Agent } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface SseJob {
  url: string;
  headers: Record<string, string>;
  watchers: number;
  /** Seconds to wait for the event once told what to wait for. */
  timeout: number;
}

/** Messages: { open: n } once every stream answered 200, then { arrivals: epoch ms[] , failed }. */
const job = workerData as SseJob;
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const arrivals: number[] = [];
const waiting = new Set<(chunk: string) => void>();
let awaited: string | undefined;
let failed = 0;
let open = 0;
const requests: Array<ReturnType<typeof request>> = [];

for (let i = 0; i < job.watchers; i++) {
  const req = request(job.url, { headers: job.headers, agent }, (res) => {
    if (res.statusCode !== 200) {
      failed++;
      res.resume();
      return;
    }
    let text = '';
    let seen = false;
    const onChunk = (chunk: string) => {
      if (seen) return;
      text += chunk;
      if (awaited && text.includes(awaited) && text.includes('"APPROVED"')) {
        seen = true;
        arrivals.push(performance.timeOrigin + performance.now());
      }
      if (text.length > 4096) text = text.slice(-2048);
    };
    waiting.add(onChunk);
    res.setEncoding('utf8');
    res.on('data', onChunk);
    open++;
    if (open + failed === job.watchers) parentPort?.postMessage({ open, failed });
  });
  req.on('error', () => {
    failed++;
    if (open + failed === job.watchers) parentPort?.postMessage({ open, failed });
  });
  req.end();
  requests.push(req);
}

parentPort?.on('message', (message: { await: string }) => {
  awaited = message.await;
  // Armed before the approval is sent, so the first frame naming it counts.
  const started = Date.now();
  const check = setInterval(() => {
    if (arrivals.length >= open || Date.now() - started > job.timeout * 1000) {
      clearInterval(check);
      for (const req of requests) req.destroy();
      parentPort?.postMessage({ arrivals, failed });
    }
  }, 5);
});
