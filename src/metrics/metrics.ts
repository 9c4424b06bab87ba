// The Prometheus metrics of one app (SPEC section 14): its own registry, so many apps can share a process.
import type { MikroORM } from '@mikro-orm/postgresql';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ProgressEventType } from '../entities/process-request-event.entity';
import type { TransitionListener } from '../sql/progress';
import { PROGRESS_DOORS, type ProgressBus } from '../runtime/progress-bus';
import { BLOB_OPERATIONS, type BlobObserver } from '../storage/evidence-store';

export interface MetricsSources {
  orm: MikroORM;
  progress: ProgressBus;
  /** The webhook deliveries waiting, as the relay last counted them (a scrape never waits for the database). */
  webhookPending?: () => number;
}

export interface Metrics {
  registry: Registry;
  /** Observed by the HTTP middleware once per response on the public port. */
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  onTransition: TransitionListener;
  observeBlob: BlobObserver;
  /** Told after every recorded webhook attempt. */
  onWebhookAttempt: (outcome: 'succeeded' | 'retrying' | 'failed', seconds: number) => void;
  /** Drops every metric of this app (its registry only). */
  close(): void;
}

/** Every stored event type: a series exists (at 0) before the first change, so rate() and alerts see it. */
const TRANSITION_TYPES = Object.values(ProgressEventType).filter(
  (t) => t !== ProgressEventType.EVIDENCE_UPLOADING,
);

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BLOB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The knex pool (tarn) under MikroORM; read on scrape, never cached (it is replaced on reconnect). */
interface TarnPool {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

function poolOf(orm: MikroORM): TarnPool | undefined {
  try {
    return (orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
  } catch {
    return undefined;
  }
}

export function createMetrics({ orm, progress, webhookPending }: MetricsSources): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Requests on the public port, from arrival to the end of the response, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });

  const transitions = new Counter({
    name: 'process_request_transitions_total',
    help: 'Process-request changes this process committed, by type (CREATED, APPROVED, REJECTED, CANCELLED, FAILED)',
    labelNames: ['type'] as const,
    registers,
  });
  for (const type of TRANSITION_TYPES) transitions.inc({ type }, 0);

  new Gauge({
    name: 'progress_streams',
    help: 'Progress streams open in this process, by door (sse, graphql-ws)',
    labelNames: ['door'] as const,
    registers,
    collect() {
      for (const door of PROGRESS_DOORS) this.set({ door }, progress.openStreamsOf(door));
    },
  });

  const poolGauge = (name: string, help: string, read: (pool: TarnPool) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const pool = poolOf(orm);
        this.set(pool ? read(pool) : 0);
      },
    });
  poolGauge('db_pool_connections_in_use', 'Database connections lent to a query or transaction', (p) =>
    p.numUsed(),
  );
  poolGauge('db_pool_connections_idle', 'Open database connections waiting in the pool', (p) => p.numFree());
  poolGauge(
    'db_pool_connections_max',
    'Most database connections the pool opens (DB_POOL_SIZE)',
    (p) => p.max,
  );
  poolGauge(
    'db_pool_acquires_waiting',
    'Queries waiting for a database connection because all are in use',
    (p) => p.numPendingAcquires(),
  );

  const blobDuration = new Histogram({
    name: 'blob_operation_duration_seconds',
    help: 'Evidence blob storage operations, by operation, failed ones included (the _count is the number of operations)',
    labelNames: ['operation'] as const,
    buckets: BLOB_BUCKETS,
    registers,
  });
  const blobErrors = new Counter({
    name: 'blob_operation_errors_total',
    help: 'Evidence blob storage operations that failed, by operation',
    labelNames: ['operation'] as const,
    registers,
  });
  for (const operation of BLOB_OPERATIONS) blobErrors.inc({ operation }, 0);

  const webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook attempts this process made, by outcome (succeeded; retrying: failed, another attempt is scheduled; failed: no more attempts)',
    labelNames: ['outcome'] as const,
    registers,
  });
  for (const outcome of ['succeeded', 'retrying', 'failed']) webhookDeliveries.inc({ outcome }, 0);
  const webhookDuration = new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: 'Webhook attempts of this process, from sending to the answer (or the failure)',
    buckets: HTTP_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'webhook_pending_deliveries',
    help: 'Webhook deliveries waiting to be sent or retried, in every process (counted by the relay each second)',
    registers,
    collect() {
      this.set(webhookPending?.() ?? 0);
    },
  });

  // Node process metrics (CPU, memory, event loop lag, GC, handles), with the names Prometheus users expect.
  collectDefaultMetrics({ register: registry });

  return {
    registry,
    httpDuration,
    onTransition: (type) => transitions.inc({ type }),
    observeBlob: (operation, seconds, failed) => {
      blobDuration.observe({ operation }, seconds);
      if (failed) blobErrors.inc({ operation });
    },
    onWebhookAttempt: (outcome, seconds) => {
      webhookDeliveries.inc({ outcome });
      webhookDuration.observe(seconds);
    },
    close: () => registry.clear(),
  };
}
