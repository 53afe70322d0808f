-- Attempts started on a callback, counted on its own row. A claim is one statement: it numbers
-- the new attempt from this counter on the row it locks (always the latest version), where
-- counting attempt rows would read the statement's snapshot, which can predate a concurrent commit.
ALTER TABLE callback_requests ADD COLUMN attempts_started integer NOT NULL DEFAULT 0;
UPDATE callback_requests r SET attempts_started = a.n
  FROM (SELECT callback_id, count(*)::integer AS n FROM callback_attempts GROUP BY callback_id) a
  WHERE a.callback_id = r.id;
