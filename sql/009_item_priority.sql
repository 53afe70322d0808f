-- Priority per route (routes.<id>.priority): a caller's priority is stored with its place
-- (queue_entries.priority) and its callback keeps it (callback_requests.priority). The order every
-- instance keeps is priority (higher first), then original arrival, then the shared seq; these
-- make that order, and the priority that decides it, readable in the database itself.

COMMENT ON COLUMN queue_entries.priority IS
  'Higher is served first: the route''s priority (routes.<id>.priority) when it sets one, else the queue''s. Fixed when the caller enters.';
COMMENT ON COLUMN callback_requests.priority IS
  'Higher is served first: the booking caller''s own priority (never raised for being a callback), or the one an API request stated, else the queue''s.';

-- The open callbacks of one queue in service order (the old callback_requests_queue_order ends
-- on id, which is not the order: seq is).
CREATE INDEX callback_requests_open_order ON callback_requests (queue_id, priority DESC, arrived_at, seq)
  WHERE status IN ('pending', 'in_progress');

-- Every open item of every queue, live callers of every instance and open callbacks alike, in
-- the one service order, with the priority that places each. What GET /queues/{id}/waiting shows
-- from one instance's memory, read from the shared state (supervisors, reports, checks).
CREATE VIEW queue_order AS
SELECT queue_id, kind, id, priority, arrived_at, seq, route_id,
       row_number() OVER (PARTITION BY queue_id ORDER BY priority DESC, arrived_at, seq, id) AS position
FROM (
  SELECT queue_id, 'caller' AS kind, id, priority, arrived_at, seq, route_id
  FROM queue_entries WHERE closed_at IS NULL
  UNION ALL
  SELECT queue_id, 'callback' AS kind, id, priority, arrived_at, seq, route_id
  FROM callback_requests WHERE status IN ('pending', 'in_progress')
) open_items;
