-- A callback booked on a call (source_channel_id) is not dialled while that call is still up: the
-- caller is hearing the confirmation (src/domain/source-call-hold.ts). The process holding the
-- call knows when it ends; every other instance learns it from this column, set when the call
-- ends. Null: not known to have ended, and other instances wait at most a bound after
-- requested_at. Rows stored before this column existed are long past that bound.
ALTER TABLE callback_requests ADD COLUMN source_call_ended_at timestamptz;
