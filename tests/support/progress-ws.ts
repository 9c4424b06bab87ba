// A real graphql-ws client subscribed to processRequestProgress, recording what it gets.
import { createClient, type Client } from 'graphql-ws';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export const PROGRESS_SUBSCRIPTION = /* GraphQL */ `
  subscription Progress($clientId: ID!, $lastEventId: ID) {
    processRequestProgress(clientId: $clientId, lastEventId: $lastEventId) {
      id
      clientId
      processRequestId
      type
      percent
      status
      available
      code
      at
    }
  }
`;

export interface ProgressWatcher {
  events: Array<Record<string, unknown>>;
  /** performance.now() at each event's arrival, same order as events. */
  arrivals: number[];
  /** The first error the subscription ended with (GraphQL errors, or a close event). */
  error?: unknown;
  completed: boolean;
  waitFor(fields: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the subscription ends with an error or completes. */
  settled: Promise<void>;
  dispose(): Promise<void>;
}

/**
 * `query`: another selection of the same subscription (the fields of later sections, for example);
 * `lastEventId`: resume after that stored event.
 */
export function watchProgress(
  baseUrl: string,
  credentials: Record<string, string>,
  clientId: string,
  query = PROGRESS_SUBSCRIPTION,
  lastEventId?: string,
): ProgressWatcher {
  const client: Client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: credentials,
    retryAttempts: 0,
    lazy: true,
  });
  let settle!: () => void;
  const watcher: ProgressWatcher = {
    events: [],
    arrivals: [],
    completed: false,
    settled: new Promise((resolve) => (settle = resolve)),
    waitFor(fields, timeoutMs = 10_000) {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const poll = () => {
          const found = watcher.events.find((e) => Object.entries(fields).every(([k, v]) => e[k] === v));
          if (found) return resolve(found);
          if (watcher.error || watcher.completed)
            return reject(new Error(`subscription ended: ${JSON.stringify(watcher.error)}`));
          if (Date.now() - started > timeoutMs)
            return reject(
              new Error(`no event ${JSON.stringify(fields)}; got ${JSON.stringify(watcher.events)}`),
            );
          setTimeout(poll, 10);
        };
        poll();
      });
    },
    async dispose() {
      unsubscribe();
      await client.dispose();
    },
  };
  const unsubscribe = client.subscribe<Record<string, Record<string, unknown>>>(
    { query, variables: { clientId, lastEventId } },
    {
      next: (result) => {
        if (result.errors) {
          watcher.error = result.errors;
          return;
        }
        if (result.data?.processRequestProgress) {
          watcher.events.push(result.data.processRequestProgress);
          watcher.arrivals.push(performance.now());
        }
      },
      error: (error) => {
        watcher.error = error;
        settle();
      },
      complete: () => {
        watcher.completed = true;
        settle();
      },
    },
  );
  return watcher;
}

/** Waits until the server has the subscription registered (the bus counts it as an open stream). */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface WsMessage {
  id?: string;
  type: string;
  payload?: unknown;
}

/**
 * A bare graphql-transport-ws socket on `baseUrl`'s /graphql, acknowledged: for what a client library
 * would not send. Every message it receives is kept, parsed, in `messages`; `closed()` is its close code.
 */
export async function openSocket(baseUrl: string, credentials: Record<string, string>) {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: WsMessage[] = [];
  let closed: { code: number } | undefined;
  socket.on('error', () => undefined);
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as WsMessage));
  socket.on('close', (code) => (closed = { code }));
  await new Promise((r) => socket.once('open', r));
  socket.send(JSON.stringify({ type: 'connection_init', payload: credentials }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  return { socket, messages, closed: () => closed };
}
