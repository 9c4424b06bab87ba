// How many calls each operator has running in this process, GraphQL over HTTP and REST together, so that
// one operator cannot take the whole process (its event loop, its database connections) from everybody else.
import { DomainError } from '../domain/errors';

/** What a refused caller is told to wait before trying again. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

/** A bulk decision takes one place per this many ids (so 100 ids take four, every place by default). */
export const BULK_IDS_PER_PLACE = 25;

export class InFlight {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** The places a bulk decision of `ids` ids takes: one per 25 ids, never more than all of them. */
  weightOf(ids: number): number {
    return Math.min(this.max, Math.max(1, Math.ceil(ids / BULK_IDS_PER_PLACE)));
  }

  /**
   * Takes `weight` places for `key`: the function giving them back, or undefined when `key` would then
   * hold more than `max`.
   */
  tryAcquire(key: string, weight = 1): (() => void) | undefined {
    const held = this.counts.get(key) ?? 0;
    if (held + weight > this.max) return undefined;
    this.counts.set(key, held + weight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(key) ?? weight) - weight;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }

  /** As tryAcquire, but a refusal is 429 TOO_MANY_OPERATIONS with Retry-After. */
  acquire(key: string, weight = 1): () => void {
    const release = this.tryAcquire(key, weight);
    if (release) return release;
    throw new DomainError(
      'TOO_MANY_OPERATIONS',
      `This operator already has as many calls running as allowed (${this.max}); retry shortly`,
      { max: this.max },
      { retryAfterSeconds: IN_FLIGHT_RETRY_AFTER_SECONDS },
    );
  }
}
