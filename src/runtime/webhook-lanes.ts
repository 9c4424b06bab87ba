// The deliveries this process has claimed, one lane per endpoint (SPEC section 16). A process that alone
// holds an endpoint's leases claims ahead of its sends, so that a finished attempt's slot goes to the next
// message at once instead of waiting for another claim; the lane keeps what is sent within the cap: at
// most `concurrency` messages per endpoint are being sent or waiting for their record, as the leases
// count them across processes. A queued delivery is sent only while its claim is fresh (its endpoint's
// address, secret and status were read at most `freshMs` before) and its lease outlives the send.
import type { ClaimedDelivery } from '../sql/webhook-sql';

interface Queued {
  delivery: ClaimedDelivery;
  /** Local clock: the last moment this delivery may start to be sent. */
  sendBy: number;
}

interface Lane {
  queue: Queued[];
  /** Being sent, or sent and waiting for the record of the attempt. */
  busy: number;
}

export class EndpointLanes {
  private readonly lanes = new Map<string, Lane>();
  /** Every lane's busy count together. */
  busy = 0;
  /** Queued deliveries, every lane together. */
  queued = 0;

  constructor(private readonly concurrency: number) {}

  /** Deliveries claimed, in flight or queued: the leases this process holds. */
  held(): number {
    return this.busy + this.queued;
  }

  private lane(endpointId: string): Lane {
    let lane = this.lanes.get(endpointId);
    if (!lane) {
      lane = { queue: [], busy: 0 };
      this.lanes.set(endpointId, lane);
    }
    return lane;
  }

  /** Claimed deliveries join their endpoints' queues (in the claim's order: oldest event first). */
  add(claimed: ClaimedDelivery[], sendBy: number): void {
    for (const delivery of claimed) this.lane(delivery.endpoint_id).queue.push({ delivery, sendBy });
    this.queued += claimed.length;
  }

  /**
   * What may start now: per lane, queued deliveries up to the cap, and at most `room` over every lane;
   * they count as busy until `finish`. Deliveries whose claim went stale are handed back as `stale`.
   */
  take(room: number, now = Date.now()): { start: ClaimedDelivery[]; stale: ClaimedDelivery[] } {
    const start: ClaimedDelivery[] = [];
    const stale: ClaimedDelivery[] = [];
    for (const lane of this.lanes.values()) {
      while (lane.queue.length > 0 && lane.busy < this.concurrency && start.length < room) {
        const { delivery, sendBy } = lane.queue.shift()!;
        this.queued -= 1;
        if (now > sendBy) {
          stale.push(delivery);
          continue;
        }
        lane.busy += 1;
        this.busy += 1;
        start.push(delivery);
      }
      // Stale ones behind a full lane are given back now rather than held until the lane moves.
      while (lane.queue.length > 0 && now > lane.queue[0].sendBy) {
        stale.push(lane.queue.shift()!.delivery);
        this.queued -= 1;
      }
    }
    this.prune();
    return { start, stale };
  }

  /** An attempt was recorded (or given up): its slot is free. Returns the endpoint's queue length. */
  finish(endpointId: string): number {
    const lane = this.lanes.get(endpointId);
    if (!lane) return 0;
    lane.busy -= 1;
    this.busy -= 1;
    const left = lane.queue.length;
    this.prune();
    return left;
  }

  /** Takes an endpoint's queue away (its endpoint changed or was disabled); returns what was queued. */
  drop(endpointId: string): ClaimedDelivery[] {
    const lane = this.lanes.get(endpointId);
    if (!lane) return [];
    const dropped = lane.queue.splice(0).map((q) => q.delivery);
    this.queued -= dropped.length;
    this.prune();
    return dropped;
  }

  /** Takes every queue away (the relay stops). */
  dropAll(): ClaimedDelivery[] {
    return [...this.lanes.keys()].flatMap((id) => this.drop(id));
  }

  private prune(): void {
    for (const [id, lane] of this.lanes)
      if (lane.busy === 0 && lane.queue.length === 0) this.lanes.delete(id);
  }
}
