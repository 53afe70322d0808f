-- Instances pick up each other's changes (new requests, closed callbacks) by reading the rows
-- changed since their last look, not the whole open set.
CREATE INDEX callback_requests_updated_at ON callback_requests (updated_at);
