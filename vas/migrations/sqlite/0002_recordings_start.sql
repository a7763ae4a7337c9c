-- Oldest-first listing of all streams' closed recordings (retention) walks this index.
CREATE INDEX recordings_start ON recordings (start_at);
