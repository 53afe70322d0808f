-- The queue state every instance shares: live callers' places, the one order they and the
-- callbacks keep across instances, agents' log-in and pause, and the leadership of standby groups.

-- One sequence breaks ties in the strict order (priority, then arrival, then seq) for live callers
-- and callbacks alike, on every instance. A callback booked by a caller keeps the caller's seq.
CREATE SEQUENCE work_item_seq;
ALTER TABLE callback_requests ADD COLUMN seq bigint NOT NULL DEFAULT nextval('work_item_seq');

-- A live caller's place in a queue, stored when the caller enters and closed when the caller
-- leaves, with the reason. A restarted or adopting instance finds the exact place here.
CREATE TABLE queue_entries (
  id                 uuid        PRIMARY KEY,
  queue_id           text        NOT NULL,
  -- The queue the caller first entered (an overflow action may move the caller on).
  first_queue_id     text        NOT NULL,
  priority           integer     NOT NULL,
  arrived_at         timestamptz NOT NULL,
  seq                bigint      NOT NULL DEFAULT nextval('work_item_seq'),
  -- Which Asterisk holds the call (its entity id): only agents on that Asterisk can take it.
  asterisk_id        text        NOT NULL,
  channel_id         text        NOT NULL,
  -- The Stasis app holding the channel: with asterisk_id, whose call it is.
  app                text        NOT NULL,
  -- The channel's own creation time from ARI: a check on arrived_at when adopting.
  channel_created_at timestamptz,
  instance_id        text        NOT NULL,
  route_id           text,
  caller_number      text,
  caller_name        text        CHECK (char_length(caller_name) <= 200),
  language           text,
  closed_at          timestamptz,
  -- caller_hung_up | connected | callback_booked | moved | voicemail | external | message | gone
  close_reason       text,
  callback_id        uuid        REFERENCES callback_requests (id),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX queue_entries_one_open_per_channel ON queue_entries (asterisk_id, channel_id) WHERE closed_at IS NULL;
CREATE INDEX queue_entries_open_order ON queue_entries (queue_id, priority DESC, arrived_at, seq) WHERE closed_at IS NULL;
CREATE INDEX queue_entries_updated_at ON queue_entries (updated_at);

-- What an agent, an administrator or a feature code set: logged in or out, paused or not. Kept
-- across restarts and shared by every instance (presence from AMI stays AMI's).
CREATE TABLE agent_presence (
  agent_id   text        PRIMARY KEY,
  logged_in  boolean     NOT NULL,
  paused     boolean     NOT NULL DEFAULT false,
  -- api | panel | feature_code | cli
  changed_by text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Standby groups (processes serving one Asterisk with one app name): who leads, in which term.
-- The leader holds a session advisory lock; the term increases at every takeover.
CREATE TABLE leadership (
  group_key  text        PRIMARY KEY,
  term       bigint      NOT NULL,
  holder     text        NOT NULL,
  since      timestamptz NOT NULL DEFAULT now()
);

-- Changes are announced on the channel `direct_callback` by the writers after COMMIT (src/store/
-- change-feed.ts), not by triggers: a NOTIFY inside the writing transaction serializes every such
-- commit, WAL flush included, behind one lock.
