/**
 * Group commit: items that arrive while a write is in flight are written together by the next
 * one, so a burst costs a few round trips and WAL flushes instead of one each. No timer: an item
 * that finds nothing in flight is written at once, alone; the next batch is whatever queued while
 * the previous write ran (at most `maxBatch` of it, in arrival order).
 *
 * Pure of any database: the write is an injected executor, which answers one outcome per item, in
 * the items' order. An item's outcome settles only its own caller (an error outcome rejects that
 * caller alone); an executor that throws, or answers the wrong number of outcomes, rejects every
 * caller of that batch and no other. Either way the next batch then starts.
 */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: Error };

export type BatchExecutor<T, R> = (items: readonly T[]) => Promise<readonly ItemOutcome<R>[]>;

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: Error) => void;
}

export interface GroupCommitStats {
  /** Executor calls so far. */
  batches: number;
  /** Items handed to the executor so far. */
  items: number;
  /** The largest batch so far. */
  largest: number;
}

export class GroupCommitter<T, R> {
  private readonly queue: Waiting<T, R>[] = [];
  private inFlight = false;
  readonly stats: GroupCommitStats = { batches: 0, items: 0, largest: 0 };

  constructor(
    private readonly execute: BatchExecutor<T, R>,
    private readonly maxBatch: number,
  ) {
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
  }

  /** Resolves with this item's outcome once the write that holds it has finished. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.startNext();
    });
  }

  /** Items waiting for the write in flight to finish. */
  get waiting(): number {
    return this.queue.length;
  }

  private startNext(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.queue.splice(0, this.maxBatch);
    this.stats.batches++;
    this.stats.items += batch.length;
    this.stats.largest = Math.max(this.stats.largest, batch.length);
    let written: Promise<readonly ItemOutcome<R>[]>;
    try {
      written = this.execute(batch.map((w) => w.item));
    } catch (e) {
      written = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    written
      .then(
        (outcomes) => {
          if (outcomes.length !== batch.length) throw new Error(`group commit: ${outcomes.length} outcomes for a batch of ${batch.length}`);
          batch.forEach((w, i) => {
            const o = outcomes[i];
            if (o?.ok) w.resolve(o.value);
            else w.reject(o?.error ?? new Error('group commit: no outcome'));
          });
        },
        (e: unknown) => {
          throw e instanceof Error ? e : new Error(String(e));
        },
      )
      .catch((e: Error) => {
        for (const w of batch) w.reject(e);
      })
      .finally(() => {
        this.inFlight = false;
        this.startNext();
      });
  }
}
