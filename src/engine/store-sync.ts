import { Logger } from '../logging/logger';
import { CallbackStore, StoredCallback } from '../store/callback-store';
import { QueueBook } from './queue-book';

/**
 * Rows are stamped with their transaction's start time but become visible at COMMIT: re-reading
 * a few seconds back catches transactions that were in flight during the previous look.
 */
const SYNC_OVERLAP_MS = 5000;

export interface StoreSyncHost {
  readonly logger: Logger;
  readonly store: CallbackStore;
  readonly book: QueueBook;
  placeCallback(stored: StoredCallback): void;
  dispatchSoon(): void;
}

/**
 * Keeps this process's view of the callbacks in step with the database, where other instances,
 * the API and the CLI also write: adds open callbacks it does not know, drops ones closed
 * elsewhere. It reads only the rows changed since the last look (with a few seconds of overlap),
 * so its cost follows the rate of change rather than the size of the backlog.
 */
export class StoreSync {
  private syncing = false;
  /** Database time of the last read (minus the overlap); the first read takes everything open. */
  private lastSync = new Date(0);

  constructor(private readonly host: StoreSyncHost) {}

  /** Loads every open callback (start-up), then continues incrementally from the database's now. */
  async loadAll(): Promise<number> {
    const { store, book } = this.host;
    const dbNow = await store.databaseNow();
    const open = await store.listOpen();
    for (const cb of open) if (!book.callback(cb.id)) this.host.placeCallback(cb);
    this.lastSync = new Date(dbNow.getTime() - SYNC_OVERLAP_MS);
    return open.length;
  }

  async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const { rows, dbNow } = await this.host.store.changedSince(this.lastSync);
      for (const cb of rows) this.apply(cb);
      this.lastSync = new Date(dbNow.getTime() - SYNC_OVERLAP_MS);
      this.host.dispatchSoon();
    } catch (e) {
      this.host.logger.warn('could not sync callbacks with the database', { error: String(e) });
    } finally {
      this.syncing = false;
    }
  }

  /** One callback row as the database has it now. */
  apply(cb: StoredCallback): void {
    const { book } = this.host;
    const open = cb.status === 'pending' || cb.status === 'in_progress';
    const known = book.callback(cb.id);
    if (!open) {
      if (known && !known.pending.inFlight) book.forgetCallback(cb.id);
      return;
    }
    if (!known) {
      this.host.placeCallback(cb);
      return;
    }
    // This process is dialling it: its own session holds the truth until the attempt ends.
    if (known.pending.inFlight) return;
    if (known.stored.queueId !== cb.queueId) {
      book.forgetCallback(cb.id);
      this.host.placeCallback(cb);
      return;
    }
    book.updateCallback(cb);
  }
}
