-- 014_reserved: an empty placeholder so that 015 applies on this branch (tern needs contiguous
-- numbers). 014 is taken by the insert-trigger work (sqlcost) on another branch; drop this file
-- when merging with it.
SELECT 1;
