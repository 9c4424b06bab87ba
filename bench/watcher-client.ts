// The watchers' side of the streams benchmark, in a child process of its own (each connection takes a
// descriptor on both ends: the server's and the clients' together would not fit one process's limit).
// Opens many SSE streams or graphql-ws subscriptions, spread over several loopback source addresses so
// ephemeral ports last, then notes when each is told of the awaited approval.
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

export interface WatcherJob {
  kind: 'sse' | 'ws';
  /** The SSE stream's URL, or the graphql-ws URL (ws://…/graphql). */
  url: string;
  headers: Record<string, string>;
  partnerId: string;
  watchers: number;
  /** Connections being opened at once (the server's listen backlog is 511). */
  opening: number;
  /** Seconds to wait for the event once told what to wait for. */
  timeout: number;
}

/** Messages to the parent: { open, failed } once all are open, then { arrivals (epoch ms), failed }. */
type Chunked = (chunk: string) => void;

const SOURCES = 8;
const job = JSON.parse(process.argv[2]) as WatcherJob;
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const arrivals: number[] = [];
const closers: Array<() => void> = [];
let awaited: string | undefined;
let open = 0;
let failed = 0;

/** A watcher's text so far: true once it holds the awaited request's APPROVED event. */
function watcher(): Chunked & { seen?: boolean } {
  let text = '';
  const onChunk: Chunked & { seen?: boolean } = (chunk) => {
    if (onChunk.seen) return;
    text += chunk;
    if (awaited && text.includes(awaited) && text.includes('"APPROVED"')) {
      onChunk.seen = true;
      arrivals.push(Date.now());
    }
    if (text.length > 4096) text = text.slice(-2048);
  };
  return onChunk;
}

function openSse(i: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      job.url,
      { headers: job.headers, agent, localAddress: `127.0.0.${2 + (i % SOURCES)}` },
      (res) => {
        if (res.statusCode !== 200) {
          failed++;
          res.resume();
          return resolve();
        }
        const onChunk = watcher();
        res.setEncoding('utf8');
        res.on('data', onChunk);
        open++;
        resolve();
      },
    );
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end();
    closers.push(() => req.destroy());
  });
}

const SUBSCRIPTION = `subscription Watch($clientId: ID!) {
  processRequestProgress(clientId: $clientId) { id clientId processRequestId type status available at }
}`;

function openWs(i: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(job.url, 'graphql-transport-ws', {
      localAddress: `127.0.0.${2 + (i % SOURCES)}`,
      perMessageDeflate: false,
    });
    const onChunk = watcher();
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (ok) open++;
      else failed++;
      resolve();
    };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: job.headers })));
    socket.on('message', (data) => {
      const text = data.toString();
      if (text.includes('"connection_ack"')) {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: SUBSCRIPTION, variables: { clientId: job.partnerId } },
          }),
        );
        settle(true);
      } else if (text.includes('"ping"')) socket.send('{"type":"pong"}');
      else if (text.includes('"error"')) settle(false);
      else onChunk(text);
    });
    socket.on('error', () => settle(false));
    socket.on('close', () => settle(false));
    closers.push(() => socket.terminate());
  });
}

async function main(): Promise<void> {
  let next = 0;
  const opener = async () => {
    for (let i = next++; i < job.watchers; i = next++) await (job.kind === 'sse' ? openSse(i) : openWs(i));
  };
  await Promise.all(Array.from({ length: job.opening }, opener));
  process.send!({ open, failed });
  process.on('message', (message: { await?: string }) => {
    if (!message.await) return;
    awaited = message.await;
    const started = Date.now();
    const check = setInterval(() => {
      if (arrivals.length >= open || Date.now() - started > job.timeout * 1000) {
        clearInterval(check);
        for (const close of closers) close();
        process.send!({ arrivals, failed }, () => process.exit(0));
      }
    }, 5);
  });
}

void main();
