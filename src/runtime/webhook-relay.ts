// The webhook relay (SPEC section 16), one per server process. The event table is the transactional
// outbox: every event is stored in the transaction of the change it records. The relay, outside any
// decision's transaction, fans stored events out into deliveries (a cursor per endpoint), claims due
// deliveries with a lease (any process may send; none sends a claimed one), signs, sends and records
// each attempt. It runs on a timer and is woken at once by each event the progress bus hears.
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { WebhookConfig } from '../config';
import type { Logger } from '../logger';
import { webhookHeaders } from '../domain/webhook-signature';
import { messageOf } from '../shapes/webhook-message';
import {
  claimDue,
  fanOut,
  finishAttempt,
  messageRows,
  pendingCount,
  type ClaimedDelivery,
  type MessageRow,
} from '../sql/webhook-sql';
import { sendWebhook, type SendResult } from './webhook-sender';

/** The knex pool (tarn) under MikroORM. */
interface TarnPool {
  max: number;
  numUsed(): number;
  numFree(): number;
}

export type WebhookOutcome = 'succeeded' | 'retrying' | 'failed';

export interface WebhookRelayOptions {
  orm: MikroORM;
  config: WebhookConfig;
  log: Logger;
  /** Opens a sealed secret (the OTP key's AES-256-GCM). */
  openSecret: (sealed: string) => string;
  /** Told after every recorded attempt (metrics). */
  onAttempt?: (outcome: WebhookOutcome, seconds: number) => void;
  /** Milliseconds between passes when nothing wakes it; default 1000. */
  pollMs?: number;
  /** Most messages this process has in flight over every endpoint; default 64. */
  maxInFlight?: number;
}

/** The delay before the retry that follows `attempts` failed attempts, with ±20 % jitter; null: no more. */
export function retryDelaySeconds(schedule: number[], attempts: number, random = Math.random): number | null {
  const base = schedule[attempts - 1];
  if (base === undefined) return null;
  return Math.max(0, base * (0.8 + 0.4 * random()));
}

export class WebhookRelay {
  private timer?: NodeJS.Timeout;
  private pumping?: Promise<void>;
  private again = false;
  /** Deliveries PENDING in the database (every process's), counted at each timed pass; for the gauge. */
  pendingDeliveries = 0;
  private countDue = true;
  /** Whether stored events may be waiting to be fanned out (set by wake(), not by a finished send). */
  private fanOutDue = true;
  private stopped = true;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };

  constructor(private readonly options: WebhookRelayOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      // The timed pass is the fallback: it yields while every database connection is taken by requests.
      if (this.poolExhausted()) return;
      this.countDue = true;
      this.wake();
    }, this.options.pollMs ?? 1000);
    this.timer.unref();
    this.wake();
  }

  private poolExhausted(): boolean {
    try {
      const pool = (this.options.orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
      return pool !== undefined && pool.numFree() === 0 && pool.numUsed() >= pool.max;
    } catch {
      return false;
    }
  }

  /** Runs a pass now (or right after the one under way): new events, a retry, a re-enabled endpoint. */
  wake(): void {
    this.fanOutDue = true;
    this.kick();
  }

  /** A pass that only claims (a send finished: room for one more). */
  private kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Stops claiming and waits for the messages in flight to be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.pumping;
    await Promise.all([...this.inFlight]);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async pump(): Promise<void> {
    const { orm, log, config } = this.options;
    const max = this.options.maxInFlight ?? 64;
    try {
      if (this.fanOutDue) {
        this.fanOutDue = false;
        while ((await fanOut(orm.em.fork())).endpoints > 0 && !this.stopped);
      }
      if (this.countDue) {
        this.countDue = false;
        this.pendingDeliveries = await pendingCount(orm.em.fork());
      }
      while (!this.stopped && this.inFlight.size < max) {
        const claimed = await claimDue(orm.em.fork(), {
          concurrency: config.concurrency,
          // Outlives one send (cut at the timeout) and its recording; a dead process's claim is free soon after.
          leaseSeconds: config.timeoutSeconds * 2 + 5,
          limit: max - this.inFlight.size,
          token: randomUUID(),
        });
        if (claimed.length === 0) return;
        const rows = new Map(
          (await messageRows(orm.em.fork(), [...new Set(claimed.map((c) => c.event_id))])).map((r) => [
            String(r.id),
            r,
          ]),
        );
        for (const delivery of claimed) {
          const sending: Promise<void> = this.deliver(delivery, rows.get(delivery.event_id)).finally(() => {
            this.inFlight.delete(sending);
            this.kick();
          });
          this.inFlight.add(sending);
        }
      }
    } catch (error) {
      this.fanOutDue = true;
      log.warn({ err: error }, 'webhook relay pass failed; trying again at the next tick');
    }
  }

  private secretsOf(delivery: ClaimedDelivery): string[] {
    const secrets = [this.options.openSecret(delivery.secret_sealed)];
    const until = delivery.previous_secret_until ? new Date(delivery.previous_secret_until).getTime() : 0;
    if (delivery.previous_secret_sealed && until > Date.now())
      secrets.push(this.options.openSecret(delivery.previous_secret_sealed));
    return secrets;
  }

  private async deliver(delivery: ClaimedDelivery, row: MessageRow | undefined): Promise<void> {
    const { orm, config, log } = this.options;
    try {
      let result: SendResult;
      if (!row) {
        result = {
          statusCode: null,
          durationMs: 0,
          error: 'the event has no request',
          retryAfterSeconds: null,
        };
      } else {
        const body = JSON.stringify(messageOf(row));
        const timestamp = Math.floor(Date.now() / 1000);
        result = await sendWebhook({
          url: delivery.url,
          headers: webhookHeaders(this.secretsOf(delivery), delivery.id, timestamp, body),
          body,
          timeoutMs: config.timeoutSeconds * 1000,
          allowPrivateNetworks: config.allowPrivateNetworks,
          agents: this.agents,
        });
      }
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
      const gone = result.statusCode === 410;
      const attempts = delivery.attempt_count + 1;
      let retryIn = ok || gone ? null : retryDelaySeconds(config.retrySchedule, attempts);
      if (retryIn !== null && result.retryAfterSeconds !== null) retryIn = result.retryAfterSeconds;
      const { recorded, disabled } = await finishAttempt(
        orm.em.fork(),
        delivery,
        { ...result, ok, gone, retryInSeconds: retryIn },
        config.disableAfterSeconds,
      );
      if (!recorded) return;
      const outcome: WebhookOutcome = ok ? 'succeeded' : retryIn === null ? 'failed' : 'retrying';
      this.options.onAttempt?.(outcome, result.durationMs / 1000);
      if (disabled)
        log.warn({ endpointId: delivery.endpoint_id, reason: disabled }, 'webhook endpoint disabled');
    } catch (error) {
      // Nothing recorded: the lease expires and the delivery is claimed again.
      log.warn({ err: error, deliveryId: delivery.id }, 'webhook delivery could not be recorded');
    }
  }
}
