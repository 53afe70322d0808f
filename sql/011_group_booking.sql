-- Group commit for bookings (issue 21): the bookings that queued while the previous booking
-- statement ran are written by one statement, so one round trip and one WAL flush for all of them.
--
-- callback_book_batch decides and writes the rows one after the other, in the order given, exactly
-- as the same bookings one statement each would have: a VOLATILE plpgsql function runs each query
-- on a fresh snapshot that also sees the rows this call already wrote, so two bookings of one
-- number in one batch are a booking and its duplicate, and a limit counts the batch's earlier rows.
--
-- Locks: every advisory lock of the batch is taken first, in one global order (the requester
-- locks 7001, then the number locks 7002, each by key), the order a single booking has always used
-- (sql/007): two batches, or a batch and a single booking, cannot wait on each other in a cycle. A
-- lock that cannot be had within lock_timeout fails only the rows that need it.
--
-- Errors: each row is written in its own subtransaction (BEGIN ... EXCEPTION), so one row that
-- fails (a lock timeout, a constraint) is answered 'error' with its message and the others are
-- written. A cancelled statement (statement_timeout) or a lost connection fails the whole batch:
-- nothing of it was committed, and nobody is told otherwise. Rows that write get a subtransaction
-- id each: the caller keeps a batch at 64 rows or fewer, PostgreSQL's cache of subtransactions per
-- backend, beyond which every other session's snapshots get slower while the batch runs.
--
-- Input: a jsonb array of bookings (the fields of the single booking statement of sql/007's era).
-- Output: one row per booking, in order: idx (0-based), outcome ('stored', 'duplicate', 'over_limit',
-- 'rate_limited', 'error', or NULL when a concurrent booking that took no lock won the unique index
-- after this row's checks: the caller runs it again), the two counts, the error text, and the
-- stored or existing callback_requests row.
CREATE FUNCTION callback_book_batch(p_batch jsonb)
RETURNS TABLE (idx integer, outcome text, open_elsewhere integer, requested_by_key integer, error text, callback callback_requests)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  b jsonb;
  k record;
  failed_locks text[] := '{}';
  n integer := 0;
  v_queue text;
  v_number text;
  v_key text;
  v_limit integer;
  v_rate integer;
  v_window interval;
  v_lock_key text;
  v_lock_number text;
  r callback_requests;
BEGIN
  FOR k IN
    SELECT DISTINCT l.cls, l.h, l.name FROM (
      SELECT 7001 AS cls, hashtext((e->>'queue_id') || ' ' || (e->>'requester_key')) AS h,
             'k:' || (e->>'queue_id') || ' ' || (e->>'requester_key') AS name
        FROM jsonb_array_elements(p_batch) e WHERE e->>'requester_key' IS NOT NULL
      UNION ALL
      SELECT 7002, hashtext(e->>'customer_number'), 'n:' || (e->>'customer_number')
        FROM jsonb_array_elements(p_batch) e
    ) l ORDER BY l.cls, l.h, l.name
  LOOP
    BEGIN
      PERFORM pg_advisory_xact_lock(k.cls, k.h);
    EXCEPTION WHEN OTHERS THEN
      failed_locks := failed_locks || (k.name || E'\n' || SQLERRM);
    END;
  END LOOP;

  FOR b IN SELECT value FROM jsonb_array_elements(p_batch) LOOP
    idx := n;
    n := n + 1;
    outcome := NULL; open_elsewhere := NULL; requested_by_key := NULL; error := NULL; callback := NULL;
    v_queue := b->>'queue_id';
    v_number := b->>'customer_number';
    v_key := b->>'requester_key';
    v_lock_key := 'k:' || v_queue || ' ' || v_key;
    v_lock_number := 'n:' || v_number;
    SELECT string_agg(split_part(f, E'\n', 2), '; ') INTO error FROM unnest(failed_locks) f
      WHERE split_part(f, E'\n', 1) IN (v_lock_key, v_lock_number);
    IF error IS NOT NULL THEN
      outcome := 'error';
      RETURN NEXT;
      CONTINUE;
    END IF;
    BEGIN
      v_limit := (b->>'max_open_elsewhere')::integer;
      v_rate := (b->>'rate_limit')::integer;
      v_window := (b->>'rate_window_sec')::double precision * interval '1 second';
      SELECT count(*)::integer INTO open_elsewhere FROM callback_requests x
        WHERE x.customer_number = v_number AND x.queue_id <> v_queue AND x.status IN ('pending', 'in_progress');
      requested_by_key := CASE WHEN v_key IS NULL OR v_window IS NULL THEN 0 ELSE
        (SELECT count(*)::integer FROM callback_requests x
          WHERE x.queue_id = v_queue AND x.requester_key = v_key AND x.requested_at > now() - v_window) END;
      SELECT * INTO r FROM callback_requests x
        WHERE x.queue_id = v_queue AND x.customer_number = v_number AND x.status IN ('pending', 'in_progress');
      IF v_limit IS NOT NULL AND open_elsewhere >= v_limit THEN
        outcome := 'over_limit';
      ELSIF r.id IS NOT NULL THEN
        outcome := 'duplicate';
        callback := r;
      ELSIF v_rate IS NOT NULL AND requested_by_key >= v_rate THEN
        outcome := 'rate_limited';
      ELSE
        INSERT INTO callback_requests (id, queue_id, route_id, owner_agent_id, customer_number, customer_name, language, priority, arrived_at, max_attempts, source_channel_id, not_before, seq, requester_key)
        VALUES ((b->>'id')::uuid, v_queue, b->>'route_id', b->>'owner_agent_id', v_number, b->>'customer_name', b->>'language',
                (b->>'priority')::integer, (b->>'arrived_at')::timestamptz, (b->>'max_attempts')::integer, b->>'source_channel_id',
                (b->>'not_before')::timestamptz, COALESCE((b->>'seq')::bigint, nextval('work_item_seq')), v_key)
        ON CONFLICT (queue_id, customer_number) WHERE status IN ('pending', 'in_progress') DO NOTHING
        RETURNING * INTO r;
        IF r.id IS NOT NULL THEN
          INSERT INTO callback_events (callback_id, type, detail)
          VALUES (r.id, 'requested', jsonb_build_object('queueId', r.queue_id, 'routeId', r.route_id, 'sourceChannelId', r.source_channel_id));
          outcome := 'stored';
          callback := r;
        END IF;
      END IF;
    EXCEPTION WHEN OTHERS THEN
      outcome := 'error';
      error := SQLERRM;
      callback := NULL;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;
