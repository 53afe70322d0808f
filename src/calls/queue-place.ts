import { Logger } from '../logging/logger';
import { QueueExitReason } from '../store/queue-entry-store';
import { PlacesPort } from './call-context';

/** How long a caller's queueing waits for the database to store the place before going ahead. */
const STORE_WAIT_MS = 1500;

/** A place as the database stored it (or found it again, for a caller adopted after a restart). */
export interface StoredPlace {
  entryId: string;
  arrivedAt: number;
  seq: number;
}

/** The promise's value if it settles within `ms`, else undefined (the promise goes on). */
async function within<T>(p: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A live caller's stored place in a queue (its queue entry row), for reports and for a process
 * that adopts the caller after a restart. The caller waits whether or not the database has
 * stored it yet, so a leaving that comes first is kept and applied once the row exists.
 */
export class QueuePlace {
  /** The stored queue entry, once the database has it. */
  private queueEntryId: string | undefined;
  private closed = false;
  /** Why the caller left, when that happened before the database stored the place. */
  private closeWhenStored: { reason: QueueExitReason; callbackId?: string } | undefined;
  /** Which queue visit a stored place belongs to (a move starts a new one). */
  private visit = 0;

  constructor(private readonly places: PlacesPort) {}

  /**
   * The place of the caller's first visit, if the database stores it within a moment. A slow or
   * absent database does not hold the caller up: it waits at the arrival known here, and the
   * place is recorded when the database answers.
   */
  async stored(storing: Promise<StoredPlace | undefined>, log: Logger): Promise<StoredPlace | undefined> {
    const stored = await within(storing, STORE_WAIT_MS);
    if (stored) {
      this.joinedQueue(stored.entryId, 0);
      return stored;
    }
    log.warn('caller queued before its place was stored');
    void storing.then((late) => {
      if (late) this.joinedQueue(late.entryId, 0);
    });
    return undefined;
  }

  /** The database has stored the caller's place for this visit; a leaving that came first closes it now. */
  joinedQueue(queueEntryId: string, visit: number): void {
    if (visit !== this.visit) {
      // The place in a queue the caller has left meanwhile: closed, never adopted as current.
      this.places.close(queueEntryId, 'moved');
      return;
    }
    this.queueEntryId = queueEntryId;
    const pending = this.closeWhenStored;
    if (pending) this.close(pending.reason, pending.callbackId);
  }

  /** The caller's place is given up (first reason wins: booked, connected, hung up...). */
  close(reason: QueueExitReason, callbackId?: string): void {
    if (this.closed) return;
    if (this.queueEntryId === undefined) {
      this.closeWhenStored ??= { reason, callbackId };
      return;
    }
    this.closed = true;
    this.places.close(this.queueEntryId, reason, callbackId);
  }

  /** An action taken for the caller (an offer, an overflow verb), stored with the place. */
  record(action: string, detail: Record<string, unknown>): void {
    if (this.queueEntryId) this.places.recordAction(this.queueEntryId, action, detail);
  }

  /**
   * The caller moves to another queue: a new visit starts. Returns the stored place still open
   * (the new one replaces it) and the visit the new place will belong to. A place not stored yet
   * is closed as moved when it is.
   */
  startVisit(): { openEntryId: string | undefined; visit: number } {
    const openEntryId = this.closed ? undefined : this.queueEntryId;
    if (openEntryId === undefined) this.close('moved');
    this.queueEntryId = undefined;
    this.closed = false;
    this.closeWhenStored = undefined;
    this.visit += 1;
    return { openEntryId, visit: this.visit };
  }
}
