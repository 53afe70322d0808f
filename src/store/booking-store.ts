import { Knex } from 'knex';
import { announceChange } from './change-feed';
import { CallbackRow, NewCallbackRequest, StoredCallback, toCallback } from './callback-records';

export type RequestResult =
  | { kind: 'stored'; callback: StoredCallback }
  | { kind: 'duplicate'; existing: StoredCallback }
  /** The number already has maxOpenElsewhere open callbacks in other queues: nothing was written. */
  | { kind: 'over_limit'; openElsewhere: number }
  /** The requester already asked `rateLimit.limit` times in this queue within the window: nothing was written. */
  | { kind: 'rate_limited'; requestedByKey: number };

/**
 * Press 1 as one statement: the per-number limit, the per-caller rate limit, the duplicate check,
 * the insert and its history event. A single statement is atomic and, outside a transaction,
 * commits in the round trip that sends it, which is what a waiting caller needs. Bindings: see
 * requestCallback.
 *
 * The two limits are counted by callback_booking_counts (sql/007_booking_limits.sql) after it took
 * the advisory locks of the requester and of the number: a competing booking of the same caller
 * or number waits there for this one's commit and then counts it, so N simultaneous bookings
 * store exactly the limit. (Counted here, in the statement's own snapshot, they would all count
 * the rows committed before any of them began.)
 *
 * Always one row: the two counts, then the stored or the existing open request with `outcome`,
 * or nulls when neither (refused by a limit, or a concurrent insert won the unique index after
 * this statement's snapshot).
 */
const BOOK_SQL = `
WITH p AS (
  SELECT CAST(? AS uuid) AS id, CAST(? AS text) AS queue_id, CAST(? AS text) AS route_id, CAST(? AS text) AS owner_agent_id,
         CAST(? AS text) AS customer_number, CAST(? AS text) AS customer_name, CAST(? AS text) AS language,
         CAST(? AS integer) AS priority, CAST(? AS timestamptz) AS arrived_at, CAST(? AS integer) AS max_attempts,
         CAST(? AS text) AS source_channel_id, CAST(? AS timestamptz) AS not_before, CAST(? AS integer) AS max_open_elsewhere,
         CAST(? AS bigint) AS seq, CAST(? AS text) AS requester_key, CAST(? AS integer) AS rate_limit,
         CAST(? AS double precision) * interval '1 second' AS rate_window
),
counts AS (
  SELECT c.* FROM p, callback_booking_counts(p.queue_id, p.customer_number, p.requester_key, p.rate_window) c
),
existing AS (
  SELECT r.* FROM callback_requests r, p
  WHERE r.queue_id = p.queue_id AND r.customer_number = p.customer_number AND r.status IN ('pending', 'in_progress')
),
inserted AS (
  INSERT INTO callback_requests (id, queue_id, route_id, owner_agent_id, customer_number, customer_name, language, priority, arrived_at, max_attempts, source_channel_id, not_before, seq, requester_key)
  SELECT p.id, p.queue_id, p.route_id, p.owner_agent_id, p.customer_number, p.customer_name, p.language, p.priority, p.arrived_at, p.max_attempts, p.source_channel_id, p.not_before,
         COALESCE(p.seq, nextval('work_item_seq')), p.requester_key
  FROM p, counts c
  WHERE NOT EXISTS (SELECT 1 FROM existing)
    AND (p.max_open_elsewhere IS NULL OR c.open_elsewhere < p.max_open_elsewhere)
    AND (p.rate_limit IS NULL OR c.requested_by_key < p.rate_limit)
  ON CONFLICT (queue_id, customer_number) WHERE status IN ('pending', 'in_progress') DO NOTHING
  RETURNING *
),
history AS (
  INSERT INTO callback_events (callback_id, type, detail)
  SELECT i.id, 'requested', jsonb_build_object('queueId', i.queue_id, 'routeId', i.route_id, 'sourceChannelId', i.source_channel_id)
  FROM inserted i
)
SELECT c.open_elsewhere, c.requested_by_key, o.*
FROM counts c
LEFT JOIN (
  SELECT 'stored' AS outcome, i.* FROM inserted i
  UNION ALL
  SELECT 'duplicate' AS outcome, x.* FROM existing x
) o ON true`;

interface BookRow extends Partial<CallbackRow> {
  open_elsewhere: number;
  requested_by_key: number;
  outcome: 'stored' | 'duplicate' | null;
}

/** Where a callback request is booked: at press 1, from the API, from a direct call. */
export class BookingStore {
  constructor(private readonly db: Knex) {}

  /**
   * Stores a callback request and its first history event. Resolves only after COMMIT: the caller
   * may be told "we will call you back" only then. A second request for the same number in the
   * same queue keeps the first one (and its place); a number with `maxOpenElsewhere` open
   * callbacks in other queues is refused, and that limit is checked before the duplicate. A
   * requester who already made `rateLimit.limit` requests in this queue within the window is
   * refused after the duplicate: telling a caller that the callback they have stands gives nothing
   * away and writes nothing.
   *
   * One statement (BOOK_SQL), so one round trip under autocommit: a caller is waiting on it.
   */
  async requestCallback(req: NewCallbackRequest): Promise<RequestResult> {
    const limit = req.maxOpenElsewhere !== undefined && Number.isFinite(req.maxOpenElsewhere) ? req.maxOpenElsewhere : null;
    const rate = req.requesterKey && req.rateLimit ? req.rateLimit : null;
    const bindings = [
      req.id,
      req.queueId,
      req.routeId ?? null,
      req.ownerAgentId ?? null,
      req.customerNumber,
      req.customerName ?? null,
      req.language,
      req.priority,
      req.arrivedAt,
      req.maxAttempts,
      req.sourceChannelId ?? null,
      req.notBefore ?? null,
      limit,
      req.seq ?? null,
      req.requesterKey ?? null,
      rate?.limit ?? null,
      rate?.windowSec ?? null,
    ];
    // A concurrent request for the same queue and number that commits after this statement's
    // snapshot was taken is seen only by the unique index: the INSERT does nothing, and the
    // snapshot shows no open row either. Running the statement again (new snapshot) answers
    // duplicate. Each retry needs a commit that raced this very statement: 3 is ample.
    for (let tries = 0; tries < 3; tries++) {
      const { rows } = await this.db.raw<{ rows: BookRow[] }>(BOOK_SQL, bindings);
      const row = rows[0];
      if (!row) throw new Error('booking statement returned no row');
      if (limit !== null && row.open_elsewhere >= limit) return { kind: 'over_limit', openElsewhere: row.open_elsewhere };
      if (row.outcome === 'stored') {
        announceChange(this.db, 'callback_requests', row);
        return { kind: 'stored', callback: toCallback(row as CallbackRow) };
      }
      if (row.outcome === 'duplicate') return { kind: 'duplicate', existing: toCallback(row as CallbackRow) };
      if (rate !== null && row.requested_by_key >= rate.limit) return { kind: 'rate_limited', requestedByKey: row.requested_by_key };
    }
    throw new Error('callback insert conflicted but no open callback was found');
  }
}
