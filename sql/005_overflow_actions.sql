-- Overflow actions taken for a live caller (offered a callback, moved to another queue, sent to
-- an outside number, to voicemail, ended with a message), with the condition that triggered each.
CREATE TABLE queue_entry_actions (
  id        bigserial   PRIMARY KEY,
  entry_id  uuid        NOT NULL REFERENCES queue_entries (id),
  at        timestamptz NOT NULL DEFAULT now(),
  -- callback_offered | moved | external | voicemail | message | refused
  action    text        NOT NULL,
  detail    jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX queue_entry_actions_entry ON queue_entry_actions (entry_id, id);

-- A caller moved to another queue keeps, for reports, the arrival in the first queue.
ALTER TABLE queue_entries ADD COLUMN first_arrived_at timestamptz;
