-- 021_distributable: keep the schema distributable by project_id (docs/scale.md "Sharding path on
-- Citus"; sql/distributable_test.go holds every table to it). The one table that broke the rules:
-- beacon.user_merges had the sequence-generated merge_id as its primary key, which a table
-- distributed by project_id cannot have (Citus needs the distribution column in every unique
-- constraint, and a key a sequence hands out needs one sequence for all nodes). A merge in force is
-- already unique by (project_id, from_user) — a root is merged at most once — so that becomes the
-- key; merge_id stays, NOT NULL and filled as before, as the id beacon.unmerge_users takes and the
-- order of merges, with an index for those look-ups.

ALTER TABLE beacon.user_merges DROP CONSTRAINT user_merges_pkey;
ALTER TABLE beacon.user_merges DROP CONSTRAINT user_merges_project_id_from_user_key;
ALTER TABLE beacon.user_merges ADD PRIMARY KEY (project_id, from_user);
CREATE INDEX user_merges_merge_id ON beacon.user_merges (project_id, merge_id);
COMMENT ON INDEX beacon.user_merges_merge_id IS 'beacon.unmerge_users finds a merge by its id; the users_delete trigger takes the oldest merge into a deleted root.';
CREATE INDEX user_merges_into_user ON beacon.user_merges (project_id, into_user);
COMMENT ON INDEX beacon.user_merges_into_user IS 'The merges into a root: read when that root is deleted or merged (and by the foreign key''s ON DELETE CASCADE).';
COMMENT ON COLUMN beacon.user_merges.merge_id IS 'Id to pass to beacon.unmerge_users, and the order of merges (from an identity sequence; not a key, so the table stays distributable by project_id).';
