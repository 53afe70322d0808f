-- Direct calls to an agent's personal number: every outcome and its reason, for reporting.
CREATE TABLE direct_calls (
  channel_id     text        PRIMARY KEY,
  agent_id       text,
  dialled        text        NOT NULL,
  caller_number  text,
  caller_name    text,
  started_at     timestamptz NOT NULL,
  answered_at    timestamptz,
  ended_at       timestamptz,
  -- answered | no_answer | busy | unregistered | logged_out | do_not_disturb | no_personal_number
  -- | caller_abandoned | callback_requested | callback_declined | failed
  outcome        text,
  reason         text,
  cause          integer,
  callback_id    uuid REFERENCES callback_requests (id)
);
CREATE INDEX direct_calls_agent_time ON direct_calls (agent_id, started_at);
