// The operator rows this process has read lately, kept only while it hears every change to them: a change
// (update, delete, truncate of `operator`) is announced by a trigger on the LISTEN connection of the
// progress bus, and a change made through this process's ORM is forgotten as soon as it commits.
import type { EventSubscriber, FlushEventArgs, TransactionEventArgs } from '@mikro-orm/core';
import { Operator } from '../entities/operator.entity';

/** Entries kept at most: past it the oldest go first. */
export const OPERATOR_CACHE_MAX_ENTRIES = 10_000;
/** How long an entry serves at most, even with no change announced (a connection that died silently). */
export const OPERATOR_CACHE_MAX_AGE_MS = 30_000;
/** The payload of the trigger's NOTIFY after a TRUNCATE: every operator. */
export const EVERY_OPERATOR = '*';

interface Entry {
  row: Record<string, unknown>;
  id: string;
  at: number;
}

/** A moment of the cache: a row read after it may be kept only if nothing was forgotten since. */
export type CacheEpoch = number;

/**
 * Keyed by what authentication looks the operator up with (the subject and how it may match); only active
 * operators are kept. Used only while `listening`: from the moment the LISTEN connection is up (and empty
 * then) until it drops. A row read before a change is never kept after it: every forget moves the epoch,
 * and `remember` takes the epoch seen before the read.
 */
export class OperatorCache {
  private readonly entries = new Map<string, Entry>();
  private readonly keysById = new Map<string, Set<string>>();
  private listening = false;
  private epoch = 0;

  constructor(
    private readonly max = OPERATOR_CACHE_MAX_ENTRIES,
    private readonly maxAgeMs = OPERATOR_CACHE_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an entry may be used or kept now (the LISTEN connection is up). */
  get enabled(): boolean {
    return this.listening && this.max > 0 && this.maxAgeMs > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The LISTEN connection is up, listening: changes from now on are heard. Starts empty. */
  listen(): void {
    this.clear();
    this.listening = true;
  }

  /** The LISTEN connection is down (lost, or closing): nothing is used or kept until `listen` again. */
  deaf(): void {
    this.listening = false;
    this.clear();
  }

  /** Where the cache stands before a read whose result may be kept. */
  mark(): CacheEpoch {
    return this.epoch;
  }

  get(key: string): Record<string, unknown> | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at > this.maxAgeMs) {
      this.drop(key, entry);
      return undefined;
    }
    return entry.row;
  }

  /** Keeps a row read after `since`, unless something was forgotten meanwhile or the cache is not listening. */
  remember(key: string, row: Record<string, unknown>, since: CacheEpoch): void {
    if (!this.enabled || since !== this.epoch || row.active !== true) return;
    const id = String(row.id);
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    // Maps keep insertion order: the first key is the oldest entry.
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.drop(oldest, this.entries.get(oldest)!);
    }
    this.entries.set(key, { row, id, at: this.now() });
    let keys = this.keysById.get(id);
    if (!keys) this.keysById.set(id, (keys = new Set()));
    keys.add(key);
  }

  /** Forgets an operator by id (EVERY_OPERATOR: all of them). */
  forget(id: string): void {
    this.epoch++;
    if (id === EVERY_OPERATOR) return this.clear();
    for (const key of this.keysById.get(id) ?? []) this.entries.delete(key);
    this.keysById.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
    this.keysById.clear();
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    const keys = this.keysById.get(entry.id);
    keys?.delete(key);
    if (keys?.size === 0) this.keysById.delete(entry.id);
  }
}

/**
 * Forgets an operator changed through this process's ORM at once (when the flush computes the change, so
 * a row read meanwhile is not kept) and again when the transaction commits (the transaction's events
 * carry the same EntityManager as its flushes), so the next call after the change returns reads the new
 * row whether or not the NOTIFY has arrived yet.
 */
export function forgetOnChange(cache: OperatorCache): EventSubscriber {
  const changed = new WeakMap<object, Set<string>>();
  return {
    onFlush({ em, uow }: FlushEventArgs) {
      for (const change of uow.getChangeSets()) {
        if (!(change.entity instanceof Operator)) continue;
        cache.forget(change.entity.id);
        let ids = changed.get(em);
        if (!ids) changed.set(em, (ids = new Set()));
        ids.add(change.entity.id);
      }
    },
    afterTransactionCommit({ em }: TransactionEventArgs) {
      for (const id of changed.get(em) ?? []) cache.forget(id);
      changed.delete(em);
    },
    afterTransactionRollback({ em }: TransactionEventArgs) {
      changed.delete(em);
    },
  };
}
