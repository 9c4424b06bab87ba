// EVIDENCE_UPLOADING events of one create (SPEC section 7): a handful per file, while it streams in.
import { ProgressEventType } from '../entities/process-request-event.entity';
import type { ServiceContext } from '../domain/context';
import { announce } from '../sql/progress';
import { BLOCK_BYTES } from './evidence.service';

/** A report waits this long for the next chunk before it is sent anyway (an upload that stalls still shows). */
const HOLD_MS = 50;

export interface UploadProgress {
  /** Told the bytes of the file read so far, after each chunk. */
  report(bytes: number): void;
  /**
   * The file is read (or the create failed): a report still held is dropped (CREATED or FAILED says more),
   * and the promise resolves once every report sent has gone, so CREATED always follows the last of them.
   */
  end(): Promise<void>;
}

/**
 * One event each time the body passes another 25% of `expectedBytes`, never one per chunk. A report is held
 * until the next chunk arrives (or HOLD_MS passes): the file is still streaming then, and a report made by
 * the file's last chunk is not sent at all, one NOTIFY fewer per create. A body of one block or less (the
 * file is written in one call, src/services/evidence.service.ts) usually arrives in one go: its report goes
 * out only when the body is still streaming HOLD_MS later (a slow or stalled upload still shows), with the
 * latest percent, so a body read at once sends none. Sent one after the other (each NOTIFY on whichever pool
 * connection is free would race the previous one).
 */
export function uploadProgress(
  ctx: ServiceContext,
  partnerId: string,
  processRequestId: string,
  expectedBytes?: number,
): UploadProgress {
  let lastPercent = 0;
  let sending = Promise.resolve();
  let held: { percent: number; timer: NodeJS.Timeout } | undefined;
  let ended = false;
  const small = expectedBytes !== undefined && expectedBytes <= BLOCK_BYTES;
  const release = () => {
    if (!held) return;
    clearTimeout(held.timer);
    const event = {
      id: null,
      partnerId,
      processRequestId,
      type: ProgressEventType.EVIDENCE_UPLOADING,
      actorId: ctx.operator.id,
      fromStatus: null,
      toStatus: null,
      data: { percent: held.percent },
      at: new Date().toISOString(),
    };
    held = undefined;
    sending = sending
      .then(() => announce(ctx.em, event))
      .catch((e) => ctx.log.warn({ err: e }, 'upload progress not announced'));
  };
  return {
    report(bytes) {
      if (!small) release();
      if (ended || !expectedBytes || expectedBytes <= 0) return;
      const percent = Math.min(99, Math.floor((bytes / expectedBytes) * 100));
      if (percent - lastPercent < 25) return;
      lastPercent = percent;
      if (held) {
        held.percent = percent; // a small body's report waits for its timer, with the latest percent
        return;
      }
      const timer = setTimeout(release, HOLD_MS);
      timer.unref();
      held = { percent, timer };
    },
    end() {
      ended = true;
      if (held) clearTimeout(held.timer);
      held = undefined;
      return sending;
    },
  };
}
