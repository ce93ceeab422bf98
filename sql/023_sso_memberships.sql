-- 023_sso_memberships: the identity provider stays authoritative for the memberships it granted
-- (issue 14, AC-2). beacon.memberships.managed_by records who manages a membership: 'sso' for
-- one granted by OIDC_ROLE_MAP, which beacon.oidc_sign_in changes or removes at every sign-in as
-- the person's groups change; NULL for one granted by hand (an owner, the CLI, an invitation),
-- which single sign-on never touches.
--
-- beacon.set_membership gains a fourth argument saying who acts (NULL: by hand; 'sso'), so its
-- three-argument form is dropped here; the code package defines the new one (callers passing
-- three arguments are unchanged).
--
-- Backfill: a membership counts as SSO-managed when the account_provisioned audit row of its
-- account granted exactly that role in that project (after.roles) and no membership_* audit row
-- of it came later (until this version only an owner or the CLI could change it afterwards, which
-- made it theirs). Everything else stays NULL, hand-managed: the safe side, since single sign-on
-- then leaves it alone. Memberships whose provisioning row was purged (audit_retention_days) stay
-- hand-managed for the same reason; an owner can remove them by hand.
--
-- The membership_* rows of beacon.audit_actions say what managed_by in before/after means.

ALTER TABLE beacon.memberships ADD COLUMN managed_by text NULL CHECK (managed_by IN ('sso'));
COMMENT ON COLUMN beacon.memberships.managed_by IS 'Who manages the membership: sso, granted by OIDC_ROLE_MAP and changed or removed by beacon.oidc_sign_in at every sign-in as the identity provider''s groups change; NULL, granted by hand (an owner, the CLI, an invitation), never touched by single sign-on. A change by hand makes a membership NULL (hand-managed).';

DROP FUNCTION IF EXISTS beacon.set_membership(uuid, uuid, text);

UPDATE beacon.memberships m SET managed_by = 'sso'
FROM beacon.audit p
WHERE p.action = 'account_provisioned'
  AND p.target = 'account:' || m.account_id
  AND p.after -> 'roles' ->> m.project_id::text = m.role
  AND NOT EXISTS (
      SELECT FROM beacon.audit x
      WHERE x.action IN ('membership_added', 'membership_changed', 'membership_removed')
        AND x.target = 'project:' || m.project_id || '/account:' || m.account_id
        AND x.audit_id > p.audit_id
        AND x.at > p.at); -- the provisioning's own membership_added is of its transaction (same now())

UPDATE beacon.audit_actions SET records = v.records
FROM (VALUES
    ('membership_added', 'An account made a member of a project with a role (target project:ID/account:ID; after.managed_by sso when OIDC_ROLE_MAP granted it at a sign-in).'),
    ('membership_changed', 'A member''s role changed, or an SSO-managed membership taken over by hand (before → after; managed_by sso on the side single sign-on manages).'),
    ('membership_removed', 'A member removed from a project (after.managed_by sso when the identity provider''s groups no longer give it).')
) v (action, records)
WHERE beacon.audit_actions.action = v.action;
