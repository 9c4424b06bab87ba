// One long-lived PostgreSQL session of a server process, outside the pool (the LISTEN connection, the
// liveness lock): opened with the pool's settings, kept alive, and opened again with backoff when it drops.
import { Client, type ClientConfig, type Notification } from 'pg';
import type { Logger } from '../logger';

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

export interface DedicatedConnectionOptions {
  /** Built from DATABASE_URL by src/infra/database-url.ts, like the pool's (same host, same TLS). */
  connection: ClientConfig;
  /** application_name of the session (operators find it in pg_stat_activity). */
  name: string;
  /** How log lines name the session ("LISTEN", "liveness"). */
  label: string;
  log: Logger;
  /** Prepares every new session before it counts as open (LISTEN, take a lock); a throw fails the attempt. */
  setup: (client: Client) => Promise<void>;
  onNotification?: (notification: Notification) => void;
  /** The session dropped; a new one is being opened. */
  onLost?: () => void;
  /** A new session replaced one that dropped. */
  onRestored?: () => void;
}

export class DedicatedConnection {
  private current?: Client;
  private stopped = false;
  private attempts = 0;
  private reconnectTimer?: NodeJS.Timeout;

  constructor(private readonly options: DedicatedConnectionOptions) {}

  /** The open session, or undefined while it is being re-established (or after close). */
  get client(): Client | undefined {
    return this.current;
  }

  /** PostgreSQL backend pid of the session. */
  get backendPid(): number | undefined {
    return (this.current as unknown as { processID?: number } | undefined)?.processID;
  }

  /** Opens the first session; a database that is down now fails the caller's start. */
  async open(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.current;
    this.current = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const { connection, name, label, log } = this.options;
    const client = new Client({ ...connection, keepAlive: true, application_name: name });
    // An 'error' without a listener would crash the process; the 'end' that follows triggers the reconnect.
    client.on('error', (error) => log.warn({ err: error }, `${label} connection error`));
    client.on('end', () => this.lost(client));
    if (this.options.onNotification) client.on('notification', this.options.onNotification);
    try {
      await client.connect();
      await this.options.setup(client);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.current = client;
    this.attempts = 0;
  }

  private lost(client: Client): void {
    if (this.current !== client) return; // a failed attempt, or a session close() already ended
    this.current = undefined;
    this.options.log.warn(`${this.options.label} connection lost; reconnecting`);
    this.options.onLost?.();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    // Exponential backoff with jitter, so a restarted database is not hit by every process at once.
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          if (this.stopped) return;
          this.options.log.info({ pid: this.backendPid }, `${this.options.label} connection restored`);
          this.options.onRestored?.();
        },
        (error) => {
          this.options.log.warn(
            { err: error, attempt: this.attempts },
            `${this.options.label} reconnect failed`,
          );
          this.scheduleReconnect();
        },
      );
    }, delay);
  }
}
