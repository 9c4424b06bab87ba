// Tells the other server processes that events were stored, right after the transaction that stored them
// committed, and outside it: the money transaction no longer takes PostgreSQL's database-wide notify lock
// at commit (held across the commit's WAL flush, so every notifying commit waited for the one before).
// Hints are coalesced: while one NOTIFY is on its way, what is stored meanwhile waits and goes in the next.
// The NOTIFY says only "partner P has events up to id N"; every process reads the events themselves from
// the table, in id order (src/runtime/progress-bus.ts), so a hint lost in a crash costs latency, not events.
import type { Client, ClientConfig } from 'pg';
import { DedicatedConnection } from '../infra/dedicated-connection';
import type { Logger } from '../logger';
import { PROGRESS_CHANNEL } from '../sql/progress';

/** NOTIFY payloads stay well under PostgreSQL's 8,000-byte limit. */
const MAX_PAYLOAD = 7000;
/** After a failed send, the hints wait this long (or for the next one) before another try. */
const RETRY_MS = 200;
/**
 * Sends start at least this far apart: under a stream of commits, the hints of this many milliseconds go
 * in one NOTIFY instead of one each (the other processes hear of an event at most this much later).
 */
export const HINT_GAP_MS = 10;

/** A NOTIFY of stored events: the highest stored id per partner. */
export interface StoredHint {
  stored: Record<string, string>;
}

/** The payloads announcing `hints` (partner id → highest id), each small enough for one NOTIFY. */
export function hintPayloads(hints: Map<string, bigint>): string[] {
  const payloads: string[] = [];
  let current: Record<string, string> = {};
  let size = 0;
  for (const [partnerId, id] of hints) {
    const entry = partnerId.length + String(id).length + 8;
    if (size + entry > MAX_PAYLOAD && size > 0) {
      payloads.push(JSON.stringify({ stored: current } satisfies StoredHint));
      current = {};
      size = 0;
    }
    current[partnerId] = String(id);
    size += entry;
  }
  if (size > 0) payloads.push(JSON.stringify({ stored: current } satisfies StoredHint));
  return payloads;
}

export class ProgressNotifier {
  private readonly connection: DedicatedConnection;
  private pending = new Map<string, bigint>();
  private sending?: Promise<void>;
  private lastSent = 0;
  private gapTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private paused = false;

  constructor(
    connection: ClientConfig,
    private readonly log: Logger,
  ) {
    this.connection = new DedicatedConnection({
      connection,
      name: 'progress-notifier',
      label: 'NOTIFY',
      log,
      // Its transactions write nothing but the notification: no need to wait for the WAL flush at commit
      // (a crash before it loses a hint, which the buses' catch-up covers), so the notify lock is held briefly.
      setup: async (client) => {
        await client.query('set synchronous_commit = off');
      },
      onRestored: () => this.flush(),
    });
  }

  async start(): Promise<void> {
    await this.connection.open();
  }

  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    await this.sending;
    await this.connection.close();
  }

  /**
   * The notifier's session when it is up: the bus reads its catch-ups there too, so neither waits for the
   * pool under load (pg runs a session's queries one after the other).
   */
  get client(): Client | undefined {
    return this.connection.client;
  }

  /** PostgreSQL backend pid of the session that sends the NOTIFYs. */
  get backendPid(): number | undefined {
    return this.connection.backendPid;
  }

  /**
   * Holds hints back (true) or sends them again (false). Tests use it to stand for a process that crashed
   * between its commit and its NOTIFY.
   */
  pause(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.flush();
  }

  /** Partner `partnerId` has stored events up to `id` (committed): the other processes are told soon. */
  stored(partnerId: string, id: bigint): void {
    const known = this.pending.get(partnerId);
    if (known === undefined || id > known) this.pending.set(partnerId, id);
    this.flush();
  }

  private flush(): void {
    if (this.sending || this.gapTimer || this.paused || this.pending.size === 0) return;
    const client = this.connection.client;
    if (!client) return; // sent once the connection is back (onRestored)
    const wait = this.lastSent + HINT_GAP_MS - performance.now();
    if (wait > 0) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        this.flush();
      }, wait);
      this.gapTimer.unref();
      return;
    }
    this.lastSent = performance.now();
    const hints = this.pending;
    this.pending = new Map();
    this.sending = client
      .query('select pg_notify($1, p) from unnest($2::text[]) as p', [PROGRESS_CHANNEL, hintPayloads(hints)])
      .then(
        () => {
          this.sending = undefined;
          this.flush();
        },
        (error: unknown) => {
          this.sending = undefined;
          // Kept for the next try; newer hints of the same partners supersede them.
          for (const [partnerId, id] of hints) {
            const known = this.pending.get(partnerId);
            if (known === undefined || id > known) this.pending.set(partnerId, id);
          }
          this.log.warn({ err: error }, 'progress NOTIFY not sent; trying again');
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.flush(), RETRY_MS);
          this.retryTimer.unref();
        },
      );
  }
}
