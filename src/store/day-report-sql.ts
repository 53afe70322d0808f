/**
 * The day report's statements (day-report-queries.ts). Each reads one day by an index of
 * sql/010_report_indexes.sql and aggregates in the database: a day of 100,000 calls never
 * travels to the process row by row.
 *
 * Named bindings, the same in every statement:
 *   :from, :to   the day's bounds (timestamptz), [from, to)
 *   :queue       one queue id, or null for every queue
 *   :now         the engine's now: callers still waiting and callbacks still owed are counted to it
 *   :sl          the service level threshold, seconds
 *   :hours       the number of hours in the day (23, 24 or 25)
 *
 * Direct calls to an agent's personal number count in the queue `direct:<agent>`, where that
 * agent's owed callbacks are (engine/queue-book.ts); one without an agent in `direct`.
 */

const DIRECT_QUEUE = `CASE WHEN d.agent_id IS NULL THEN 'direct' ELSE 'direct:' || d.agent_id END`;
const IN_DAY = (column: string): string => `${column} >= :from AND ${column} < :to`;
const QUEUE_IS = (column: string): string => `(CAST(:queue AS text) IS NULL OR ${column} = :queue)`;
/** The events that close a callback; the partial index callback_events_closing_at holds them. */
const CLOSING = `('completed', 'failed', 'expired', 'cancelled')`;

/**
 * The callers of the day, by first arrival, once each: a caller moved on by overflow counts in
 * the queue where the visit ended (its earlier visits are closed 'moved'). A direct call's
 * outcome maps onto a queue caller's: answered, abandoned, or a callback booked.
 *
 * Service level: of the callers answered, abandoned or booking a callback, those answered, or
 * talking to an agent on their callback, within :sl seconds of arriving.
 */
export const CALLERS_SQL = `
WITH c AS (
  SELECT e.queue_id, e.close_reason AS fate, e.closed_at AS fate_at,
         coalesce(e.first_arrived_at, e.arrived_at) AS first_at, e.callback_id, false AS offered
  FROM queue_entries e
  WHERE ${IN_DAY('coalesce(e.first_arrived_at, e.arrived_at)')}
    AND e.close_reason IS DISTINCT FROM 'moved' AND ${QUEUE_IS('e.queue_id')}
  UNION ALL
  SELECT ${DIRECT_QUEUE},
         CASE d.outcome WHEN 'answered' THEN 'connected' WHEN 'caller_abandoned' THEN 'caller_hung_up'
           WHEN 'callback_requested' THEN 'callback_booked' ELSE d.outcome END,
         coalesce(d.answered_at, d.ended_at), d.started_at, d.callback_id,
         d.outcome IN ('callback_requested', 'callback_declined')
  FROM direct_calls d
  WHERE ${IN_DAY('d.started_at')} AND ${QUEUE_IS(DIRECT_QUEUE)}
), conversation AS (
  SELECT a.callback_id, min(a.bridged_at) AS at
  FROM callback_attempts a
  WHERE a.bridged_at >= :from AND a.bridged_at < CAST(:to AS timestamptz) + CAST(:sl AS float8) * interval '1 second'
  GROUP BY a.callback_id
)
SELECT c.queue_id,
  count(*)::int AS entered,
  count(*) FILTER (WHERE c.fate = 'connected')::int AS answered,
  count(*) FILTER (WHERE c.fate = 'caller_hung_up')::int AS abandoned,
  count(*) FILTER (WHERE c.fate = 'callback_booked')::int AS booked,
  count(*) FILTER (WHERE c.offered)::int AS direct_offers,
  count(*) FILTER (WHERE c.fate IN ('connected', 'caller_hung_up', 'callback_booked'))::int AS sl_eligible,
  count(*) FILTER (WHERE
    (c.fate = 'connected' AND c.fate_at <= c.first_at + CAST(:sl AS float8) * interval '1 second')
    OR (c.fate = 'callback_booked' AND v.at <= c.first_at + CAST(:sl AS float8) * interval '1 second'))::int AS sl_met
FROM c LEFT JOIN conversation v ON v.callback_id = c.callback_id
GROUP BY c.queue_id`;

/**
 * The visits an action of the day can belong to: arrived that day or the day before. Joined by
 * this range, both sides are one day's rows, whatever the history.
 */
const VISIT_OF_THE_DAY = `e.arrived_at >= CAST(:from AS timestamptz) - interval '1 day' AND e.arrived_at < :to`;

/** Callback offers made to waiting callers in the day, per queue. */
export const OFFERS_SQL = `
SELECT e.queue_id, count(*)::int AS offers
FROM queue_entry_actions a JOIN queue_entries e ON e.id = a.entry_id AND ${VISIT_OF_THE_DAY}
WHERE a.action = 'callback_offered' AND ${IN_DAY('a.at')} AND ${QUEUE_IS('e.queue_id')}
GROUP BY e.queue_id`;

/**
 * Callbacks requested in the day, and closed in the day by kind; failures and expiries with
 * their reason's category (the text before ':', e.g. max_attempts_reached, number_refused).
 */
export const CALLBACKS_SQL = `
SELECT r.queue_id, 'requested' AS kind, NULL AS reason, count(*)::int AS n
FROM callback_requests r
WHERE ${IN_DAY('r.requested_at')} AND ${QUEUE_IS('r.queue_id')}
GROUP BY r.queue_id
UNION ALL
SELECT r.queue_id, e.type,
  CASE WHEN e.type IN ('failed', 'expired') THEN split_part(coalesce(e.detail->>'reason', e.type), ':', 1) END,
  count(DISTINCT e.callback_id)::int
FROM callback_events e JOIN callback_requests r ON r.id = e.callback_id
WHERE e.type IN ${CLOSING} AND ${IN_DAY('e.at')} AND ${QUEUE_IS('r.queue_id')}
GROUP BY 1, 2, 3`;

/**
 * Per queue and hour: seconds spent waiting by callers (kind 'caller') and owed by callbacks
 * (kind 'callback'), and how many still waited or were owed at the hour's end (or now). A
 * caller's span is each visit of a queue, arrival to close; a callback's, request to close.
 * Spans that began before the day are found by their close (or as still open), not by a scan.
 */
export const LOAD_SQL = `
WITH spans AS (
  SELECT e.queue_id, 'caller' AS kind, e.arrived_at AS s, e.closed_at AS t
  FROM queue_entries e WHERE ${IN_DAY('e.arrived_at')} AND ${QUEUE_IS('e.queue_id')}
  UNION ALL
  -- Waited into the day: looked for among the day before's arrivals (a closed wait of over a day is
  -- not a wait), so the scan is one day whatever the history.
  SELECT e.queue_id, 'caller', e.arrived_at, e.closed_at
  FROM queue_entries e
  WHERE e.arrived_at >= CAST(:from AS timestamptz) - interval '1 day' AND e.arrived_at < :from AND e.closed_at >= :from
    AND ${QUEUE_IS('e.queue_id')}
  UNION ALL
  SELECT e.queue_id, 'caller', e.arrived_at, NULL
  FROM queue_entries e WHERE e.closed_at IS NULL AND e.arrived_at < :from AND ${QUEUE_IS('e.queue_id')}
  UNION ALL
  SELECT r.queue_id, 'callback', r.requested_at, x.t
  FROM callback_requests r
  LEFT JOIN LATERAL (SELECT min(ev.at) AS t FROM callback_events ev WHERE ev.callback_id = r.id AND ev.type IN ${CLOSING}) x ON true
  WHERE ${IN_DAY('r.requested_at')} AND ${QUEUE_IS('r.queue_id')}
  UNION ALL
  SELECT r.queue_id, 'callback', r.requested_at, min(ev.at)
  FROM callback_events ev JOIN callback_requests r ON r.id = ev.callback_id
  WHERE ev.type IN ${CLOSING} AND ev.at >= :from AND r.requested_at < :from AND ${QUEUE_IS('r.queue_id')}
  GROUP BY r.id, r.queue_id, r.requested_at
  UNION ALL
  SELECT r.queue_id, 'callback', r.requested_at, NULL
  FROM callback_requests r
  WHERE r.status IN ('pending', 'in_progress') AND r.requested_at < :from AND ${QUEUE_IS('r.queue_id')}
), bounded AS MATERIALIZED (
  -- Each span's first and last hour of the day, computed once per span (float8, not numeric).
  SELECT queue_id, kind, s, t, u,
    greatest(0, floor(date_part('epoch', s - CAST(:from AS timestamptz)) / 3600))::int AS first_h,
    least(CAST(:hours AS int) - 1, floor(date_part('epoch', u - CAST(:from AS timestamptz)) / 3600))::int AS last_h
  FROM (SELECT queue_id, kind, s, t, least(coalesce(t, CAST(:now AS timestamptz)), CAST(:now AS timestamptz)) AS u FROM spans) x
), hourly AS (
  -- Most waits lie within one hour: those need no series of hours.
  SELECT queue_id, kind, first_h AS h,
    date_part('epoch', least(u, CAST(:from AS timestamptz) + (first_h + 1) * interval '1 hour')
      - greatest(s, CAST(:from AS timestamptz) + first_h * interval '1 hour')) AS secs,
    (t IS NULL OR t > CAST(:from AS timestamptz) + (first_h + 1) * interval '1 hour') AS open_at_end
  FROM bounded WHERE first_h = last_h
  UNION ALL
  SELECT b.queue_id, b.kind, h.h,
    date_part('epoch', least(b.u, CAST(:from AS timestamptz) + (h.h + 1) * interval '1 hour')
      - greatest(b.s, CAST(:from AS timestamptz) + h.h * interval '1 hour')),
    (b.t IS NULL OR b.t > CAST(:from AS timestamptz) + (h.h + 1) * interval '1 hour')
  FROM bounded b, LATERAL generate_series(b.first_h, b.last_h) AS h(h)
  WHERE b.first_h < b.last_h
)
SELECT queue_id, kind, h, sum(greatest(0, secs))::float8 AS secs, count(*) FILTER (WHERE open_at_end)::int AS at_end
FROM hourly GROUP BY queue_id, kind, h`;

/**
 * Request to conversation of the callbacks whose conversation began in the day: per queue and
 * hour, and per hour over every queue (queue_id null, grouping set (h)).
 */
export const CONVERSATIONS_SQL = `
WITH conv AS (
  SELECT r.queue_id, floor(date_part('epoch', a.bridged_at - CAST(:from AS timestamptz)) / 3600)::int AS h,
         date_part('epoch', a.bridged_at - r.requested_at) AS sec
  FROM callback_attempts a JOIN callback_requests r ON r.id = a.callback_id
  WHERE ${IN_DAY('a.bridged_at')} AND ${QUEUE_IS('r.queue_id')}
)
SELECT CASE WHEN GROUPING(queue_id) = 1 THEN NULL ELSE queue_id END AS queue_id, h, count(*)::int AS n,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY sec) AS p50,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY sec) AS p90
FROM conv GROUP BY GROUPING SETS ((queue_id, h), (h))`;

/**
 * What each agent handled in the day: queue callers connected to them (the 'connected' action
 * names the agent), direct calls answered, callback conversations. Over every queue the actions
 * and attempts are read alone; the queue is looked up only to filter by one.
 */
export const AGENTS_SQL = `
SELECT agent_id, kind, count(*)::int AS n FROM (
  SELECT a.detail->>'agentId' AS agent_id, 'call' AS kind
  FROM queue_entry_actions a
  WHERE a.action = 'connected' AND ${IN_DAY('a.at')}
    AND (CAST(:queue AS text) IS NULL
      OR a.entry_id IN (SELECT e.id FROM queue_entries e WHERE e.queue_id = :queue AND ${VISIT_OF_THE_DAY}))
  UNION ALL
  SELECT d.agent_id, 'direct' FROM direct_calls d
  WHERE d.outcome = 'answered' AND ${IN_DAY('d.started_at')} AND ${QUEUE_IS(DIRECT_QUEUE)}
  UNION ALL
  SELECT a.agent_id, 'callback' FROM callback_attempts a
  WHERE ${IN_DAY('a.bridged_at')}
    AND (CAST(:queue AS text) IS NULL OR EXISTS (SELECT 1 FROM callback_requests r WHERE r.id = a.callback_id AND r.queue_id = :queue))
) x
WHERE agent_id IS NOT NULL
GROUP BY agent_id, kind`;

/** The day's bounds in a time zone: local midnight to local midnight (23 to 25 hours). */
export const BOUNDS_SQL = `
SELECT CAST(:date AS date)::timestamp AT TIME ZONE CAST(:tz AS text) AS "from",
       (CAST(:date AS date) + 1)::timestamp AT TIME ZONE CAST(:tz AS text) AS "to"`;
