-- 020_maintenance_runs: one scheduled beacon.maintain() per MAINTAIN_INTERVAL across all relays.
-- Until now every relay ran the whole of maintain() on its own ticker; the per-step lock only kept
-- two runs from overlapping, so three relays did the work three times per interval. The relay now
-- calls beacon.maintain_scheduled(interval), which claims the interval here first.

CREATE TABLE beacon.maintenance_runs (
    run_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    every       interval    NOT NULL CHECK (every >= interval '1 second'),
    finished_at timestamptz
);
COMMENT ON TABLE beacon.maintenance_runs IS 'One row per scheduled run of beacon.maintain() (beacon.maintain_scheduled), whichever relay ran it; kept 30 days like beacon.maintenance_log. A manual CALL beacon.maintain() is not recorded here.';
COMMENT ON COLUMN beacon.maintenance_runs.run_id IS 'Order of the runs.';
COMMENT ON COLUMN beacon.maintenance_runs.started_at IS 'When a relay claimed the interval and began the run.';
COMMENT ON COLUMN beacon.maintenance_runs.every IS 'The MAINTAIN_INTERVAL of the relay that ran it: no other run starts within 90 % of it.';
COMMENT ON COLUMN beacon.maintenance_runs.finished_at IS 'When every step had run (or found another caller at work); NULL while running or if the relay stopped mid-run.';
CREATE INDEX maintenance_runs_started_at ON beacon.maintenance_runs (started_at);
COMMENT ON INDEX beacon.maintenance_runs_started_at IS 'For the claim''s look at the latest run and the 30-day purge.';
