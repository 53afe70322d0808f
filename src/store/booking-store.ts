import { Knex } from 'knex';
import { announceChange } from './change-feed';
import { CallbackRow, NewCallbackRequest, StoredCallback, toCallback } from './callback-records';
import { GroupCommitter, ItemOutcome } from './group-commit';

export type RequestResult =
  | { kind: 'stored'; callback: StoredCallback }
  | { kind: 'duplicate'; existing: StoredCallback }
  /** The number already has maxOpenElsewhere open callbacks in other queues: nothing was written. */
  | { kind: 'over_limit'; openElsewhere: number }
  /** The requester already asked `rateLimit.limit` times in this queue within the window: nothing was written. */
  | { kind: 'rate_limited'; requestedByKey: number };

/**
 * Press 1 for every booking of a batch, as one statement: callback_book_batch
 * (sql/011_group_booking.sql) takes the batch's advisory locks, then for each booking in order
 * counts the two limits, checks the duplicate, inserts the row and its history event. A single
 * statement is atomic and, outside a transaction, commits in the round trip that sends it, which
 * is what the waiting callers need: one WAL flush for all of them.
 *
 * One row per booking: its index, outcome, the two counts, an error text, and the stored or
 * existing row (expanded from the function's composite column, so pg types its columns).
 */
const BOOK_BATCH_SQL = `
WITH p AS (SELECT CAST(? AS jsonb) AS batch)
SELECT b.idx, b.outcome, b.open_elsewhere, b.requested_by_key, b.error, (b.callback).*
FROM p, callback_book_batch(p.batch) b
ORDER BY b.idx`;

/**
 * At most this many bookings per statement: each booking that writes takes a subtransaction id,
 * and PostgreSQL caches 64 per backend (beyond, other sessions' snapshots slow down while the
 * batch runs). A larger burst is simply two statements.
 */
export const MAX_BOOKINGS_PER_STATEMENT = 64;

/** One booking as callback_book_batch reads it (jsonb keys). */
interface BookingInput {
  id: string;
  queue_id: string;
  route_id: string | null;
  owner_agent_id: string | null;
  customer_number: string;
  customer_name: string | null;
  language: string;
  priority: number;
  arrived_at: string;
  max_attempts: number;
  source_channel_id: string | null;
  not_before: string | null;
  max_open_elsewhere: number | null;
  seq: number | null;
  requester_key: string | null;
  rate_limit: number | null;
  rate_window_sec: number | null;
}

interface BookRow extends Partial<CallbackRow> {
  idx: number;
  outcome: 'stored' | 'duplicate' | 'over_limit' | 'rate_limited' | 'error' | null;
  open_elsewhere: number | null;
  requested_by_key: number | null;
  error: string | null;
}

/** A booking's answer from its batch: null when a concurrent insert won the unique index (run it again). */
type BatchAnswer = RequestResult | null;

/** Where a callback request is booked: at press 1, from the API, from a direct call. */
export class BookingStore {
  /** Bookings that arrive while a booking statement runs wait for the next one, together (group-commit.ts). */
  private readonly committer: GroupCommitter<BookingInput, BatchAnswer>;

  constructor(private readonly db: Knex) {
    this.committer = new GroupCommitter((batch) => this.writeBatch(batch), MAX_BOOKINGS_PER_STATEMENT);
  }

  /**
   * Stores a callback request and its first history event. Resolves only after the COMMIT of the
   * statement that holds this request's row: the caller may be told "we will call you back" only
   * then. A second request for the same number in the same queue keeps the first one (and its
   * place); a number with `maxOpenElsewhere` open callbacks in other queues is refused, and that
   * limit is checked before the duplicate. A requester who already made `rateLimit.limit`
   * requests in this queue within the window is refused after the duplicate: telling a caller
   * that the callback they have stands gives nothing away and writes nothing.
   *
   * Group commit: alone, the booking is sent at once; while another booking statement runs, it
   * waits for the next statement with every other booking that arrived meanwhile. The outcome is
   * the one the bookings one statement each, in arrival order, would have had. Rejects when this
   * booking's row failed (its error) or the whole statement did.
   */
  async requestCallback(req: NewCallbackRequest): Promise<RequestResult> {
    const input = bookingInput(req);
    // A concurrent request for the same queue and number that took no advisory lock (a row
    // written by hand, an older instance) and commits after this booking's checks is seen only by
    // the unique index: the INSERT does nothing and the function answers no outcome. Running the
    // booking again answers duplicate. Each retry needs a commit that raced this very booking: 3
    // is ample.
    for (let tries = 0; tries < 3; tries++) {
      const answer = await this.committer.submit(input);
      if (answer) return answer;
    }
    throw new Error('callback insert conflicted but no open callback was found');
  }

  /** The executor of the group commit: one statement for the batch, one outcome per booking. */
  private async writeBatch(batch: readonly BookingInput[]): Promise<ItemOutcome<BatchAnswer>[]> {
    const { rows } = await this.db.raw<{ rows: BookRow[] }>(BOOK_BATCH_SQL, [JSON.stringify(batch)]);
    if (rows.length !== batch.length) throw new Error(`booking statement returned ${rows.length} rows for ${batch.length} bookings`);
    return rows.map((row, i) => {
      // After COMMIT (the statement has answered), in the order of the batch.
      if (row.outcome === 'stored') announceChange(this.db, 'callback_requests', callbackRowOf(row));
      return answerOf(row, batch[i]);
    });
  }
}

/** The booking as the batch function reads it: the request's fields, the two limits, no `undefined`. */
function bookingInput(req: NewCallbackRequest): BookingInput {
  const limit = req.maxOpenElsewhere !== undefined && Number.isFinite(req.maxOpenElsewhere) ? req.maxOpenElsewhere : null;
  const rate = req.requesterKey && req.rateLimit ? req.rateLimit : null;
  return {
    id: req.id,
    queue_id: req.queueId,
    route_id: req.routeId ?? null,
    owner_agent_id: req.ownerAgentId ?? null,
    customer_number: req.customerNumber,
    customer_name: req.customerName ?? null,
    language: req.language,
    priority: req.priority,
    arrived_at: req.arrivedAt.toISOString(),
    max_attempts: req.maxAttempts,
    source_channel_id: req.sourceChannelId ?? null,
    not_before: req.notBefore ? req.notBefore.toISOString() : null,
    max_open_elsewhere: limit,
    seq: req.seq ?? null,
    requester_key: req.requesterKey ?? null,
    rate_limit: rate?.limit ?? null,
    rate_window_sec: rate?.windowSec ?? null,
  };
}

/** The callback_requests columns of a result row (without the batch's own columns). */
function callbackRowOf(row: BookRow): CallbackRow {
  const { idx, outcome, open_elsewhere, requested_by_key, error, ...callback } = row;
  return callback as CallbackRow;
}

function answerOf(row: BookRow, input: BookingInput | undefined): ItemOutcome<BatchAnswer> {
  switch (row.outcome) {
    case 'stored':
      return { ok: true, value: { kind: 'stored', callback: toCallback(callbackRowOf(row)) } };
    case 'duplicate':
      return { ok: true, value: { kind: 'duplicate', existing: toCallback(callbackRowOf(row)) } };
    case 'over_limit':
      return { ok: true, value: { kind: 'over_limit', openElsewhere: row.open_elsewhere ?? 0 } };
    case 'rate_limited':
      return { ok: true, value: { kind: 'rate_limited', requestedByKey: row.requested_by_key ?? 0 } };
    case 'error':
      return { ok: false, error: new Error(row.error ?? `booking ${input?.id ?? '?'} failed`) };
    default:
      return { ok: true, value: null };
  }
}
