// Round trips of one create: the statements the service sends to PostgreSQL (BEGIN and COMMIT included, counted
// as round trips: one sent in the round trip of another statement is shown with it) and
// the calls it makes to blob storage, counted over a few creates sent one after the other.
import { Client } from 'pg';
import type { App } from '../src/app';

export interface CreateTrips {
  creates: number;
  /** Statements per create, on average. */
  sql: number;
  /** Blob storage calls per create, by operation, on average. */
  blob: Record<string, number>;
  /** The statements of the last create, in order, shortened: what the figures count. */
  last: string[];
}

/** The histogram's `_count` per operation: how many blob calls of each kind this app made so far. */
async function blobCounts(app: App): Promise<Map<string, number>> {
  const text = await app.metrics.registry.getSingleMetricAsString('blob_operation_duration_seconds');
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/_count\{operation="([^"]+)"\} (\d+)/g))
    counts.set(match[1], Number(match[2]));
  return counts;
}

/**
 * Sends `creates` creates through `send` (each must succeed) and counts what they cost. Background work on the
 * same pool (the webhook relay's polls, sweeps) is left out by what it reads.
 */
export async function countCreateTrips(
  app: App,
  send: () => Promise<void>,
  creates = 5,
): Promise<CreateTrips> {
  // Every statement reaches PostgreSQL through pg's Client, whether the ORM sent it or a prepared statement did.
  const query = Client.prototype.query;
  let sql: string[] = [];
  let total = 0;
  const seen = (text: string, before = '', after = '') => {
    if (/\b(webhook_\w+|upload_intent u|stream_ticket)\b|expires_at <= now\(\)/.test(text)) return;
    sql.push(before + text.replace(/\s+/g, ' ').slice(0, 90) + after);
  };
  const before = await blobCounts(app);
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; edges?: { before?: string; after?: string } };
    if (typeof first === 'string') seen(first);
    else {
      // A statement sent with BEGIN or COMMIT in its round trip (src/sql/held-transaction.ts) counts once.
      const { before, after } = first?.edges ?? {};
      seen(
        first?.text ?? '',
        before ? `${before.toUpperCase()} + ` : '',
        after ? ` … + ${after.toUpperCase()}` : '',
      );
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    for (let i = 0; i < creates; i++) {
      sql = [];
      await send();
      total += sql.length;
    }
  } finally {
    Client.prototype.query = query;
  }
  const after = await blobCounts(app);
  const blob: Record<string, number> = {};
  for (const [operation, count] of after) {
    const made = count - (before.get(operation) ?? 0);
    if (made > 0) blob[operation] = made / creates;
  }
  return { creates, sql: total / creates, blob, last: sql };
}

export function describeTrips(trips: CreateTrips): string {
  const blob = Object.entries(trips.blob)
    .map(([operation, n]) => `${operation} ${n}`)
    .join(', ');
  return (
    `create round trips (service, ${trips.creates} creates one at a time): ${trips.sql} statements, blob ${blob}\n` +
    trips.last.map((s, i) => `  ${i + 1}. ${s}`).join('\n')
  );
}
