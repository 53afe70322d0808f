-- Limits that hold under concurrency: the booking statement counts, on the rows themselves, the
-- requests of one caller in a queue (the per-caller rate limit) and the open callbacks of one
-- number in other queues (the number policy's maxPendingPerNumber).

-- Who asked for the callback, as the rate limit counts them: 'caller:<E.164 caller id>', or for a
-- withheld or unusable caller id 'typed:<E.164 number typed>'. Null: not counted (API requests,
-- callbacks owed by an agent after a direct call).
ALTER TABLE callback_requests ADD COLUMN requester_key text;
CREATE INDEX callback_requests_requester ON callback_requests (queue_id, requester_key, requested_at)
  WHERE requester_key IS NOT NULL;

-- The two counts a booking is decided on, taken after the booking's advisory locks.
--
-- Why a function: under READ COMMITTED a statement reads one snapshot, taken when it starts. A
-- lock taken inside the booking statement itself (a CTE calling pg_advisory_xact_lock) waits for
-- the competitor's commit, but the statement's counts still read the old snapshot and miss the
-- competitor's row: N simultaneous bookings all count 0. A VOLATILE function takes a fresh
-- snapshot for each query it runs, so the counts below, run after the locks were granted, see
-- every booking that held them before. The locks are transaction-scoped: held until the booking
-- statement (autocommit) commits, so the next booking of the same caller or number counts this
-- one. Still one statement, one round trip for the waiting caller.
--
-- Locks, always in this order (so two bookings cannot wait on each other): the caller's key in
-- the queue, then the number. The two-int4 key space is apart from the standby group's bigint
-- session lock (src/cluster/leadership.ts); 7001 and 7002 keep the two kinds apart. A hash
-- collision only serializes two unrelated bookings a little; it never changes a count.
CREATE FUNCTION callback_booking_counts(p_queue_id text, p_customer_number text, p_requester_key text, p_window interval)
RETURNS TABLE (open_elsewhere integer, requested_by_key integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_requester_key IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(7001, hashtext(p_queue_id || ' ' || p_requester_key));
  END IF;
  PERFORM pg_advisory_xact_lock(7002, hashtext(p_customer_number));
  RETURN QUERY SELECT
    (SELECT count(*)::integer FROM callback_requests r
      WHERE r.customer_number = p_customer_number AND r.queue_id <> p_queue_id AND r.status IN ('pending', 'in_progress')),
    CASE WHEN p_requester_key IS NULL OR p_window IS NULL THEN 0 ELSE
      (SELECT count(*)::integer FROM callback_requests r
        WHERE r.queue_id = p_queue_id AND r.requester_key = p_requester_key AND r.requested_at > now() - p_window)
    END;
END
$$;
