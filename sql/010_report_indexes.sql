-- The day report (src/store/day-report-queries.ts) reads one day of each table by time. Without
-- these, every report scans the whole history; with them it reads the day's rows only.

-- The callers of a day, by their first arrival (a caller moved on by overflow keeps it).
CREATE INDEX queue_entries_first_arrival ON queue_entries ((coalesce(first_arrived_at, arrived_at)));
-- Each visit of a queue by its own arrival (callers waiting per hour, and those who waited into the day).
CREATE INDEX queue_entries_arrived_at ON queue_entries (arrived_at);
-- Offers made, and which agent took which caller, by time.
CREATE INDEX queue_entry_actions_action_at ON queue_entry_actions (action, at);
-- Callbacks requested in the day.
CREATE INDEX callback_requests_requested_at ON callback_requests (requested_at);
-- Callbacks closed in the day (completed, failed, expired, cancelled), and with what reason.
CREATE INDEX callback_events_closing_at ON callback_events (at)
  WHERE type IN ('completed', 'failed', 'expired', 'cancelled');
-- Conversations: request to conversation per hour, and each agent's callbacks.
CREATE INDEX callback_attempts_bridged_at ON callback_attempts (bridged_at) WHERE bridged_at IS NOT NULL;
-- Direct calls of the day, every agent at once (direct_calls_agent_time serves one agent).
CREATE INDEX direct_calls_started_at ON direct_calls (started_at);
