-- Callback requests: the durable half of a queue. A row exists before the caller hears
-- "we will call you back"; its arrived_at is the caller's original place in the queue.
CREATE TABLE callback_requests (
  id               uuid PRIMARY KEY,
  queue_id         text        NOT NULL,
  route_id         text,
  -- Set for callbacks owed by one agent (direct calls to a personal number).
  owner_agent_id   text,
  customer_number  text        NOT NULL CHECK (customer_number ~ '^\+?[0-9]{1,20}$'),
  customer_name    text        CHECK (char_length(customer_name) <= 200),
  language         text        NOT NULL DEFAULT 'en',
  priority         integer     NOT NULL DEFAULT 0,
  arrived_at       timestamptz NOT NULL,
  requested_at     timestamptz NOT NULL DEFAULT now(),
  status           text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled', 'expired')),
  attempts         integer     NOT NULL DEFAULT 0,
  max_attempts     integer     NOT NULL DEFAULT 3,
  -- Retry spacing: not dialled again before this time.
  not_before       timestamptz,
  -- Lease: the instance dialling it and until when; an expired lease is reclaimed after a crash.
  claimed_by       text,
  claim_expires_at timestamptz,
  source_channel_id text,
  outcome_reason   text,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Dispatch reads pending items of a queue in their order.
CREATE INDEX callback_requests_queue_order ON callback_requests (queue_id, priority DESC, arrived_at, id)
  WHERE status IN ('pending', 'in_progress');

-- One open callback per number and queue: a second request keeps the first one's place.
CREATE UNIQUE INDEX callback_requests_one_open_per_number ON callback_requests (queue_id, customer_number)
  WHERE status IN ('pending', 'in_progress');

-- Every attempt to call back: which agent, how far it got, and how it ended.
CREATE TABLE callback_attempts (
  id                  bigserial   PRIMARY KEY,
  callback_id         uuid        NOT NULL REFERENCES callback_requests (id),
  attempt_no          integer     NOT NULL,
  instance_id         text        NOT NULL,
  agent_id            text        NOT NULL,
  agent_channel_id    text        NOT NULL UNIQUE,
  customer_channel_id text        UNIQUE,
  started_at          timestamptz NOT NULL DEFAULT now(),
  agent_answered_at   timestamptz,
  agent_accepted_at   timestamptz,
  customer_dialed_at  timestamptz,
  customer_answered_at timestamptz,
  bridged_at          timestamptz,
  ended_at            timestamptz,
  outcome             text,
  cause               integer,
  cause_txt           text
);
CREATE INDEX callback_attempts_callback ON callback_attempts (callback_id);
-- A customer is dialled at most once per attempt: the customer leg id is written before dialling.
CREATE UNIQUE INDEX callback_attempts_one_open_per_callback ON callback_attempts (callback_id) WHERE ended_at IS NULL;

-- The history an administrator reads: every step of every callback, with times.
CREATE TABLE callback_events (
  id          bigserial   PRIMARY KEY,
  callback_id uuid        NOT NULL REFERENCES callback_requests (id),
  at          timestamptz NOT NULL DEFAULT now(),
  type        text        NOT NULL,
  agent_id    text,
  detail      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX callback_events_callback ON callback_events (callback_id, id);
