// Idempotent creates (SPEC section 4): one key per operator, the first response replayed for 24 hours.
import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors';
import { ownerAlive, type Owner } from '../runtime/liveness';
import { Decimal } from '../domain/money';
import { createRequest, type CreateRequest } from '../shapes/inputs';
import type { ProcessRequestView } from '../shapes/views';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/**
 * A claim left IN_PROGRESS this long may be taken over even though its process still looks alive (a create
 * stuck that long has failed for its client). A claim whose process is gone is taken over at once.
 */
const STALE_CLAIM_SECONDS = 15 * 60;
/** How long a concurrent retry waits for the first one to finish before answering 409 IDEMPOTENCY_IN_PROGRESS. */
const WAIT_FOR_FIRST_MS = 30_000;
const POLL_MS = 100;

/** An amount counts by its value: "10.50" and "10.5" are the same amount. */
const byValue = (amount: string) =>
  amount.includes('.') ? amount.replace(/0+$/, '').replace(/\.$/, '') : amount;

/** Fields whose value counts in another form than as parsed. */
const FINGERPRINT_FORM: { [K in keyof CreateRequest]?: (value: CreateRequest[K]) => unknown } = {
  requestedAmount: byValue,
};

/**
 * The fields fingerprinted from the start (requestedAmount, observations). A field declared after them counts
 * only when given (a trailing absent value is left out), so adding an optional field changes neither the
 * fingerprint of a create without it nor the keys already stored under the previous declaration.
 */
const FIRST_FIELDS = 2;

/**
 * What makes two creates "the same": the partner, every field of the create's declaration (createRequest in
 * src/shapes/inputs.ts, in its order: a field added there counts here without anyone remembering) and the
 * file's SHA-256. The OTP is not part of the request: a retry with a fresh code is the same create.
 */
export function createRequestHash(partnerId: string, request: CreateRequest, sha256: string): string {
  const values = (Object.keys(createRequest.shape) as Array<keyof CreateRequest>).map((field) => {
    const form = FINGERPRINT_FORM[field] as ((value: unknown) => unknown) | undefined;
    return form ? form(request[field]) : request[field];
  });
  while (values.length > FIRST_FIELDS && values[values.length - 1] == null) values.pop();
  return createHash('sha256')
    .update(JSON.stringify([partnerId, ...values, sha256]))
    .digest('hex');
}

/**
 * The response stored with a key (the create's statement writes it, src/sql/create-sql.ts): it keeps Decimal
 * and Date so a replay is shaped exactly like the first answer, by any door.
 */
export function encodeView(view: ProcessRequestView): string {
  return JSON.stringify(view, function (this: Record<string, unknown>, key, value: unknown) {
    const original = this[key];
    if (original instanceof Decimal) return { $decimal: original.value };
    if (original instanceof Date) return { $date: original.toISOString() };
    return value;
  });
}

function decodeView(text: string): ProcessRequestView {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      if (typeof v.$decimal === 'string') return new Decimal(v.$decimal);
      if (typeof v.$date === 'string') return new Date(v.$date);
    }
    return value;
  }) as ProcessRequestView;
}

export type IdempotencyOutcome =
  { kind: 'claimed'; claimId: string } | { kind: 'replay'; status: number; view: ProcessRequestView };

interface StoredKey {
  request_hash: string;
  status: 'IN_PROGRESS' | 'COMPLETED';
  response_status: number | null;
  response_body: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class IdempotencyService {
  /** `owner`: this process, whose liveness the claims it takes are tied to. */
  constructor(private readonly owner: Owner) {}

  /** A completed, unexpired answer for this key, if any (read before the body, so a replay uploads nothing). */
  async findCompleted(
    em: EntityManager,
    operatorId: string,
    key: string,
  ): Promise<{ requestHash: string } | undefined> {
    const [row] = await em.execute<{ request_hash: string }[]>(
      `select request_hash from idempotency_key
        where operator_id = ? and key = ? and status = 'COMPLETED' and created_at > now() - make_interval(secs => ?)`,
      [operatorId, key, IDEMPOTENCY_TTL_SECONDS],
    );
    return row ? { requestHash: row.request_hash } : undefined;
  }

  /**
   * Claims the key for this request, or answers from the first one: the same request → its stored
   * response; a different request → 409 IDEMPOTENCY_KEY_REUSED. While the first is still running a
   * retry waits for it (polling, holding no connection), then replays or, if it failed, claims. A claim
   * held by a process that is gone (killed mid-create) is taken over at once.
   */
  async claim(
    em: EntityManager,
    operatorId: string,
    key: string,
    requestHash: string,
    /** What findCompleted said before the body was read (its file was then not uploaded). */
    answered?: { requestHash: string },
  ): Promise<IdempotencyOutcome> {
    if (answered && answered.requestHash !== requestHash) throw new DomainError('IDEMPOTENCY_KEY_REUSED');
    const outcome = await this.claimOrWait(em, operatorId, key, requestHash);
    // A key answered when the body began must not be claimed by a create whose file was not uploaded.
    if (answered && outcome.kind === 'claimed') {
      await this.release(em, outcome.claimId);
      throw new DomainError('IDEMPOTENCY_IN_PROGRESS');
    }
    return outcome;
  }

  private async claimOrWait(
    em: EntityManager,
    operatorId: string,
    key: string,
    requestHash: string,
  ): Promise<IdempotencyOutcome> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      const claimId = randomUUID();
      const claimed = await em.execute<{ id: string }[]>(
        `insert into idempotency_key (id, operator_id, key, request_hash, status, owner) values (?, ?, ?, ?, 'IN_PROGRESS', ?)
         on conflict (operator_id, key) do update
           set id = excluded.id, request_hash = excluded.request_hash, status = 'IN_PROGRESS', response_status = null,
               response_body = null, process_request_id = null, owner = excluded.owner, created_at = now(), updated_at = now()
         where idempotency_key.created_at < now() - make_interval(secs => ?)
            or (idempotency_key.status = 'IN_PROGRESS'
                and (idempotency_key.updated_at < now() - make_interval(secs => ?)
                     or (idempotency_key.owner is not null and not ${ownerAlive('idempotency_key.owner')})))
         returning id`,
        [
          claimId,
          operatorId,
          key,
          requestHash,
          this.owner.ownerId,
          IDEMPOTENCY_TTL_SECONDS,
          STALE_CLAIM_SECONDS,
        ],
      );
      if (claimed.length > 0) return { kind: 'claimed', claimId };
      const [row] = await em.execute<StoredKey[]>(
        `select request_hash, status, response_status, response_body from idempotency_key where operator_id = ? and key = ?`,
        [operatorId, key],
      );
      if (!row) continue; // the first attempt failed and released the key: claim it now
      if (row.request_hash !== requestHash) throw new DomainError('IDEMPOTENCY_KEY_REUSED');
      if (row.status === 'COMPLETED' && row.response_body) {
        return { kind: 'replay', status: row.response_status ?? 201, view: decodeView(row.response_body) };
      }
      if (Date.now() >= deadline) throw new DomainError('IDEMPOTENCY_IN_PROGRESS');
      await sleep(POLL_MS);
    }
  }

  /**
   * Drops the IN_PROGRESS claims of processes that are gone (killed mid-create: their liveness lock went
   * with their session). A retry would take such a claim over anyway; this keeps them from piling up
   * unretried. A claim of a live process is never touched, nor one already COMPLETED.
   */
  async releaseAbandoned(em: EntityManager): Promise<number> {
    // Picked first, then deleted by id and owner: a claim a retry took over meanwhile (a new id, a live
    // owner) is left alone. A plain `delete … where not alive(owner)` deleted it: when READ COMMITTED
    // re-checks a row changed under it, the anti-join on pg_locks is not scanned again, so the new owner
    // was judged with the old look at the locks (tests/crash-recovery.test.ts).
    const rows = await em.execute<{ id: string }[]>(
      `with gone as materialized (
         select id, owner from idempotency_key
          where status = 'IN_PROGRESS' and owner is not null and not ${ownerAlive('owner')})
       delete from idempotency_key k using gone
        where k.id = gone.id and k.owner = gone.owner and k.status = 'IN_PROGRESS'
       returning k.id`,
    );
    return rows.length;
  }

  /** A failed create does not poison the key: the claim is dropped and a retry runs afresh. */
  async release(em: EntityManager, claimId: string): Promise<void> {
    await em.execute(`delete from idempotency_key where id = ? and status = 'IN_PROGRESS'`, [claimId]);
  }
}
