// One watcher's stream of progress events: stored events replayed from the database, then live ones,
// with a bounded buffer so a slow consumer is cut off instead of growing memory.
import { DomainError } from '../domain/errors';
import type { ProgressEvent } from '../sql/progress';
import { toProgressEventView, type ProgressEventView } from '../shapes/views';

export interface ReplaySource {
  /** Stored events of one partner with id > afterId, ascending, at most `limit`. */
  replay(partnerId: string, afterId: bigint, limit: number): Promise<ProgressEvent[]>;
}

export interface SubscriptionOptions {
  partnerId: string;
  /** The operator it is served to (re-checked while it is open). */
  operatorId: string;
  currency: string;
  source: ReplaySource;
  /** Live events held for a consumer that has not pulled them yet; one more ends the stream. */
  maxBuffered: number;
  replayPageSize: number;
  onClose: () => void;
}

/**
 * The view of a live event, built once per event and currency: the bus hands the same event object to
 * every watcher of the partner, so 10,000 watchers share one view (and the doors one serialisation of
 * it) instead of building 10,000. Views are frozen: nothing may change what another watcher is given.
 */
const sharedViews = new WeakMap<ProgressEvent, { currency: string; view: ProgressEventView }>();

export function viewOf(event: ProgressEvent, currency: string): ProgressEventView {
  const known = sharedViews.get(event);
  if (known?.currency === currency) return known.view;
  const view = Object.freeze(toProgressEventView(event, currency));
  sharedViews.set(event, { currency, view });
  return view;
}

/** Replayed ids remembered to drop their live copy; older ones cannot still be in flight. */
const MAX_REMEMBERED_REPLAYS = 1000;

export class ProgressSubscription implements AsyncIterableIterator<ProgressEventView> {
  private live: ProgressEvent[] = [];
  private pending: ProgressEvent[] = [];
  private replaying = false;
  /** A resync that arrived while a replay page was being read: read again before going live. */
  private resyncPending = false;
  /** Highest stored id read so far (replayed or live): the next replay page starts after it. */
  private readCursor: bigint | null = null;
  /**
   * Highest stored id handed to the consumer (or the id the stream started after): the resume point.
   * It moves only when an event leaves next(), so a client cut off mid-replay resumes after the
   * last event it was actually given, never after the end of a page it had not received yet.
   */
  private delivered: bigint | null = null;
  private readonly replayed = new Set<string>();
  private ended?: { error?: Error };
  private waiter?: () => void;
  private readonly endedSignal: Promise<void>;
  private signalEnd!: () => void;

  constructor(private readonly options: SubscriptionOptions) {
    this.endedSignal = new Promise((resolve) => (this.signalEnd = resolve));
  }

  get partnerId(): string {
    return this.options.partnerId;
  }

  get operatorId(): string {
    return this.options.operatorId;
  }

  /** The id a client would resume from (Last-Event-ID): the last stored event delivered; null until known. */
  get resumeId(): string | null {
    return this.delivered === null ? null : this.delivered.toString();
  }

  /** Resolves when the stream ends for any reason (close, overflow, server shutdown). */
  get whenEnded(): Promise<void> {
    return this.endedSignal;
  }

  /** Starts after a known id: stored events after it are replayed before live ones. */
  startAfter(id: bigint, replay: boolean): void {
    this.readCursor = id;
    this.delivered = id;
    this.replaying = replay;
  }

  /** A live event from the bus. Never blocks: the bus fans out to every watcher in one pass. */
  push(message: ProgressEvent): void {
    if (this.ended) return;
    if (this.live.length >= this.options.maxBuffered) {
      this.finish(new DomainError('PROGRESS_STREAM_OVERFLOW'));
      return;
    }
    this.live.push(message);
    this.wake();
  }

  /** The LISTEN connection came back: whatever was stored while it was down is read from the table. */
  resync(): void {
    if (this.ended || this.readCursor === null) return;
    this.replaying = true;
    this.resyncPending = true;
    this.wake();
  }

  /** Ends the stream; with an error, the consumer's next pull throws it once (a cut-off, a revocation). */
  close(error?: Error): void {
    this.finish(error);
  }

  async next(): Promise<IteratorResult<ProgressEventView>> {
    for (;;) {
      if (this.ended) {
        const error = this.ended.error;
        // Thrown once, so the door can tell a cut-off from a clean end; done afterwards.
        this.ended.error = undefined;
        if (error) throw error;
        return { value: undefined, done: true };
      }
      const replayed = this.pending.shift();
      if (replayed) return this.deliver(replayed);
      if (this.replaying) {
        await this.replayPage();
        continue;
      }
      const message = this.live.shift();
      if (message) {
        if (this.accept(message)) return this.deliver(message);
        continue;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  async return(): Promise<IteratorResult<ProgressEventView>> {
    this.finish();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async replayPage(): Promise<void> {
    const after = this.readCursor ?? 0n;
    this.resyncPending = false;
    let rows: ProgressEvent[];
    try {
      rows = await this.options.source.replay(this.options.partnerId, after, this.options.replayPageSize);
    } catch (error) {
      this.finish(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.ended) return;
    for (const row of rows) {
      const id = BigInt(row.id as string);
      if (this.readCursor === null || id > this.readCursor) this.readCursor = id;
      this.remember(row.id as string);
      this.pending.push(row);
    }
    if (rows.length < this.options.replayPageSize && !this.resyncPending) this.replaying = false;
  }

  /**
   * Live stored events: the one already replayed is dropped (no duplicate), and so is any at or below the
   * read cursor: a partner's events commit in id order (the event-order lock), so whatever had an id below
   * one that was read had committed by then and was read too (or came before this stream started).
   */
  private accept(message: ProgressEvent): boolean {
    if (message.id === null) return true;
    if (this.replayed.delete(message.id)) return false;
    const id = BigInt(message.id);
    if (this.readCursor !== null && id <= this.readCursor) return false;
    this.readCursor = id;
    return true;
  }

  private deliver(event: ProgressEvent): IteratorResult<ProgressEventView> {
    if (event.id !== null) {
      const id = BigInt(event.id);
      if (this.delivered === null || id > this.delivered) this.delivered = id;
    }
    return { value: this.toView(event), done: false };
  }

  private remember(id: string): void {
    this.replayed.add(id);
    if (this.replayed.size > MAX_REMEMBERED_REPLAYS)
      this.replayed.delete(this.replayed.values().next().value as string);
  }

  private toView(event: ProgressEvent): ProgressEventView {
    return viewOf(event, this.options.currency);
  }

  private finish(error?: Error): void {
    if (this.ended) return;
    this.ended = { error };
    this.live = [];
    this.pending = [];
    this.replayed.clear();
    this.options.onClose();
    this.signalEnd();
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
