// The webhook relay (SPEC section 16), one per server process. The event table is the transactional
// outbox: every event is stored in the transaction of the change it records. The relay, outside any
// decision's transaction, fans stored events out into deliveries (a cursor per endpoint), claims due
// deliveries with a lease (any process may send; none sends a claimed one), signs, sends and records
// each attempt. It runs on a timer and is woken at once by each event the progress bus hears. It has
// sessions of its own (three), so it neither waits behind requests for the app's pool nor makes them
// wait; the outcomes of attempts that finish together are recorded in one statement and one commit.
// While it alone holds an endpoint's leases it claims ahead, into that endpoint's lane
// (webhook-lanes.ts): a recorded attempt's slot goes to the next message without waiting for a claim.
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ClientConfig } from 'pg';
import { ormRunner, SqlPool, type SqlRunner } from '../infra/sql-pool';
import type { WebhookConfig } from '../config';
import type { Logger } from '../logger';
import { webhookHeaders } from '../domain/webhook-signature';
import { messageOf } from '../shapes/webhook-message';
import {
  claimDue,
  fanOut,
  finishAttempts,
  pendingCount,
  releaseLeases,
  type AttemptOutcome,
  type ClaimedDelivery,
} from '../sql/webhook-sql';
import { EndpointLanes } from './webhook-lanes';
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
  /**
   * The relay's own sessions (built like the pool's: same host, TLS and limits); without it, the relay
   * borrows the app's pool (and then yields its timed pass while every connection is taken).
   */
  connection?: ClientConfig;
}

/** Most attempts recorded by one statement. */
const RECORD_BATCH = 200;

/** Leases per endpoint this process may hold while it alone holds the endpoint, as a multiple of the cap. */
const AHEAD = 4;

/**
 * How long a queued delivery may wait for its slot: what its claim read of the endpoint (address,
 * secrets, status) is that old at most when it is sent; older, its lease is given back and it is claimed
 * afresh (by any process).
 */
const FRESH_MS = 2000;
/**
 * Fan-outs woken by stored events start at least this far apart: under a stream of commits, one fan-out
 * covers this many milliseconds of events instead of one each.
 */
export const WAKE_GAP_MS = 10;

/** What one kind of relay step cost in this process: how many, their milliseconds, the rows they moved. */
export interface StepTime {
  count: number;
  ms: number;
  rows: number;
}

interface Finished {
  delivery: ClaimedDelivery;
  outcome: AttemptOutcome;
  done: () => void;
}

/** The delay before the retry that follows `attempts` failed attempts, with ±20 % jitter; null: no more. */
export function retryDelaySeconds(schedule: number[], attempts: number, random = Math.random): number | null {
  const base = schedule[attempts - 1];
  if (base === undefined) return null;
  return Math.max(0, base * (0.8 + 0.4 * random()));
}

/**
 * The delay before the retry that follows `attempts` failed attempts, given the last answer's Retry-After
 * (seconds, capped when read): the schedule's delay, or the Retry-After when it is longer. A Retry-After
 * never brings a retry forward, so a receiver cannot spend a delivery's attempts faster than the schedule.
 */
export function nextRetrySeconds(
  schedule: number[],
  attempts: number,
  retryAfterSeconds: number | null,
  random = Math.random,
): number | null {
  const scheduled = retryDelaySeconds(schedule, attempts, random);
  if (scheduled === null || retryAfterSeconds === null) return scheduled;
  return Math.max(scheduled, retryAfterSeconds);
}

export class WebhookRelay {
  private timer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  private lastWake = 0;
  private pumping?: Promise<void>;
  private again = false;
  /** Deliveries PENDING in the database (every process's), counted at each timed pass; for the gauge. */
  pendingDeliveries = 0;
  private countDue = true;
  /** The fan-out under way (beside the claims, on a session of its own), and whether to run it again. */
  private fanning?: Promise<void>;
  private fanAgain = false;
  private stopped = true;
  private readonly inFlight = new Set<Promise<void>>();
  /** What this process has claimed, per endpoint: queued, being sent, waiting for its record. */
  private readonly lanes: EndpointLanes;
  /** Starts every lease token of this process (claims ahead see which leases are its own). */
  private readonly holder = randomUUID().slice(0, 18);
  private releasing: Promise<void> = Promise.resolve();
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };

  /** Claims and counts. */
  private db: SqlRunner;
  /** Fans stored events out into deliveries. */
  private fanner: SqlRunner;
  /** Records attempts, beside the claims. */
  private recorder: SqlRunner;
  private pools: SqlPool[] = [];
  /** Attempts sent and not yet recorded; each keeps its lease (and its place in flight) until it is. */
  private readonly finished: Finished[] = [];
  private recording?: Promise<void>;
  /** Time spent per kind of step (statements, sends, the wait for a record), for the bench and tuning. */
  readonly steps: Record<string, StepTime> = {};

  constructor(private readonly options: WebhookRelayOptions) {
    this.db = this.fanner = this.recorder = ormRunner(this.options.orm);
    this.lanes = new EndpointLanes(options.config.concurrency);
  }

  start(): void {
    this.stopped = false;
    const { connection, log } = this.options;
    if (connection && this.pools.length === 0) {
      this.db = new SqlPool(connection, 1, 'webhook-relay', log);
      this.fanner = new SqlPool(connection, 1, 'webhook-fan-out', log);
      // An attempt's record need not wait for the disk: if the database itself crashes before it is
      // written, the delivery is still PENDING and leased, and is sent again (same webhook-id) once the
      // lease expires, which at-least-once allows. Fan-out and claims stay durable: a delivery's id is
      // never given out before it is on disk, and a claim is never forgotten while its message is sent.
      this.recorder = new SqlPool(
        { ...connection, options: '-c synchronous_commit=off' },
        1,
        'webhook-recorder',
        log,
      );
      this.pools = [this.db as SqlPool, this.fanner as SqlPool, this.recorder as SqlPool];
    }
    this.timer = setInterval(() => {
      // The timed pass is the fallback: it yields while every database connection is taken by requests.
      if (this.poolExhausted()) return;
      this.countDue = true;
      this.wake();
    }, this.options.pollMs ?? 1000);
    this.timer.unref();
    this.wake();
  }

  /** Runs a step and adds its time (and the rows it returned, for arrays) to `steps`. */
  private async timed<T>(name: string, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await step();
    } finally {
      this.tally(name, performance.now() - started, 0);
    }
  }

  private tally(name: string, ms: number, rows: number): void {
    const s = (this.steps[name] ??= { count: 0, ms: 0, rows: 0 });
    s.count += 1;
    s.ms += ms;
    s.rows += rows;
  }

  private poolExhausted(): boolean {
    if (this.pools.length > 0) return false;
    try {
      const pool = (this.options.orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
      return pool !== undefined && pool.numFree() === 0 && pool.numUsed() >= pool.max;
    } catch {
      return false;
    }
  }

  /**
   * Runs a pass now (or right after the one under way): new events, a retry, a re-enabled endpoint. With
   * an endpoint (it was changed here: address, secret, status), what is queued for it is claimed afresh.
   */
  wake(endpointId?: string): void {
    if (endpointId !== undefined) this.release(this.lanes.drop(endpointId));
    this.fan();
    this.kick();
  }

  /**
   * Events were stored (by any process): a fan-out now, or when WAKE_GAP_MS have passed since the last one.
   * Only the fan-out: the deliveries it creates are claimed at once (fan), and nothing else can have become
   * due by an event. Claiming on every wake cost a claim transaction per pass with nothing to claim, which
   * a partner's stream of approvals paid even with no endpoint registered.
   */
  eventsStored(): void {
    if (this.wakeTimer || this.stopped) return;
    const wait = this.lastWake + WAKE_GAP_MS - performance.now();
    const pass = () => {
      this.wakeTimer = undefined;
      this.lastWake = performance.now();
      this.fan();
    };
    if (wait <= 0) return pass();
    this.wakeTimer = setTimeout(pass, wait);
    this.wakeTimer.unref();
  }

  /** Gives back leases this process will not use, so that they are claimed at once rather than expire. */
  private release(deliveries: ClaimedDelivery[]): void {
    if (deliveries.length === 0) return;
    this.releasing = this.releasing
      .then(() => this.timed('release', () => releaseLeases(this.recorder, deliveries)))
      .then(
        () => this.kick(),
        (error: unknown) =>
          this.options.log.warn({ err: error }, 'webhook leases could not be given back; they expire'),
      );
  }

  /**
   * Fans out new events, beside the claims: deliveries it creates are claimed at once. Runs again when
   * woken meanwhile (an event committed after its scan); a pass that fails is tried at the next tick.
   */
  private fan(): void {
    if (this.stopped) return;
    if (this.fanning) {
      this.fanAgain = true;
      return;
    }
    this.fanning = (async () => {
      try {
        for (;;) {
          const { created, full } = await this.timed('fanOut', () => fanOut(this.fanner));
          if (created > 0) this.kick();
          if (!full || this.stopped) break;
        }
      } catch (error) {
        this.options.log.warn({ err: error }, 'webhook fan-out failed; trying again at the next tick');
      }
    })().finally(() => {
      this.fanning = undefined;
      if (this.fanAgain) {
        this.fanAgain = false;
        this.fan();
      }
    });
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
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    await Promise.all([this.pumping, this.fanning]);
    this.release(this.lanes.dropAll());
    await Promise.all([...this.inFlight]);
    await this.recording;
    await this.releasing;
    this.agents.http.destroy();
    this.agents.https.destroy();
    const pools = this.pools;
    this.pools = [];
    this.db = this.fanner = this.recorder = ormRunner(this.options.orm);
    await Promise.all(pools.map((pool) => pool.close()));
  }

  private async pump(): Promise<void> {
    const { log, config } = this.options;
    const { db } = this;
    const max = this.options.maxInFlight ?? 64;
    // Outlives one send (cut at the timeout) and its recording, started within FRESH_MS of the claim; a
    // dead process's claims are free soon after.
    const leaseSeconds = config.timeoutSeconds * 2 + 5 + FRESH_MS / 1000;
    try {
      if (this.countDue) {
        this.countDue = false;
        this.pendingDeliveries = await pendingCount(db);
      }
      while (!this.stopped && this.lanes.held() < max * AHEAD) {
        const claimedAt = Date.now();
        const claimed = await this.timed('claim', () =>
          claimDue(db, {
            concurrency: config.concurrency,
            ahead: config.concurrency * AHEAD,
            holder: this.holder,
            leaseSeconds,
            limit: max * AHEAD - this.lanes.held(),
            token: this.holder + randomUUID().slice(18),
          }),
        );
        this.tally('claimed', 0, claimed.length);
        if (claimed.length === 0) return;
        this.lanes.add(claimed, claimedAt + FRESH_MS);
        this.dispatch();
      }
    } catch (error) {
      log.warn({ err: error }, 'webhook relay pass failed; trying again at the next tick');
    }
  }

  /** Starts the queued deliveries that have a slot: within the cap per endpoint and `maxInFlight` overall. */
  private dispatch(): void {
    const max = this.options.maxInFlight ?? 64;
    const { start, stale } = this.lanes.take(max - this.lanes.busy);
    this.release(stale);
    for (const delivery of start) {
      const sending: Promise<void> = this.deliver(delivery).finally(() => {
        this.inFlight.delete(sending);
        const left = this.lanes.finish(delivery.endpoint_id);
        this.dispatch();
        // Claims again once the endpoint's queue runs low (not at every attempt), or for other endpoints.
        if (left < this.options.config.concurrency * (AHEAD / 2)) this.kick();
      });
      this.inFlight.add(sending);
    }
  }

  private secretsOf(delivery: ClaimedDelivery): string[] {
    const secrets = [this.options.openSecret(delivery.secret_sealed)];
    const until = delivery.previous_secret_until ? new Date(delivery.previous_secret_until).getTime() : 0;
    if (delivery.previous_secret_sealed && until > Date.now())
      secrets.push(this.options.openSecret(delivery.previous_secret_sealed));
    return secrets;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const { config, log } = this.options;
    const row = delivery.message;
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
        result = await this.timed('send', () =>
          sendWebhook({
            url: delivery.url,
            headers: webhookHeaders(this.secretsOf(delivery), delivery.id, timestamp, body),
            body,
            timeoutMs: config.timeoutSeconds * 1000,
            allowPrivateNetworks: config.allowPrivateNetworks,
            agents: this.agents,
          }),
        );
      }
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
      const gone = result.statusCode === 410;
      // 410 disables the endpoint at once: nothing queued for it is sent, and its leases are given back
      // only once the endpoint is recorded disabled (before, they could be claimed and sent again).
      const dropped = gone ? this.lanes.drop(delivery.endpoint_id) : [];
      const attempts = delivery.attempt_count + 1;
      const retryIn =
        ok || gone ? null : nextRetrySeconds(config.retrySchedule, attempts, result.retryAfterSeconds);
      const outcome: AttemptOutcome = { ...result, ok, gone, retryInSeconds: retryIn };
      await this.timed(
        'sentToRecorded',
        () =>
          new Promise<void>((done) => {
            this.finished.push({ delivery, outcome, done });
            this.record();
          }),
      );
      this.release(dropped);
    } catch (error) {
      // Nothing recorded: the lease expires and the delivery is claimed again.
      log.warn({ err: error, deliveryId: delivery.id }, 'webhook delivery could not be recorded');
    }
  }

  /**
   * Records every finished attempt, in batches: one statement while the next attempts finish, so a busy
   * relay commits once per batch rather than once per message. A batch that cannot be recorded leaves
   * its deliveries leased: the leases expire and they are sent again (at least once).
   */
  private record(): void {
    if (this.recording) return;
    this.recording = (async () => {
      const { config, log } = this.options;
      while (this.finished.length > 0) {
        const batch = this.finished.splice(0, RECORD_BATCH);
        try {
          const { recorded, disabled } = await this.timed('record', () =>
            finishAttempts(this.recorder, batch, config.disableAfterSeconds),
          );
          this.tally('recorded', 0, batch.length);
          for (const { delivery, outcome } of batch) {
            if (!recorded.has(delivery.id)) continue;
            const kind: WebhookOutcome = outcome.ok
              ? 'succeeded'
              : outcome.retryInSeconds === null
                ? 'failed'
                : 'retrying';
            this.options.onAttempt?.(kind, outcome.durationMs / 1000);
          }
          for (const { endpointId, reason } of disabled) {
            log.warn({ endpointId, reason }, 'webhook endpoint disabled');
            this.release(this.lanes.drop(endpointId));
          }
        } catch (error) {
          log.warn(
            { err: error, deliveries: batch.map((b) => b.delivery.id) },
            'webhook attempts could not be recorded; their leases expire and they are sent again',
          );
        } finally {
          for (const item of batch) item.done();
        }
      }
    })().finally(() => {
      this.recording = undefined;
      if (this.finished.length > 0) this.record();
    });
  }
}
