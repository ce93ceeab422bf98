package api_test

import (
	"net/http"
	"testing"

	"github.com/beacon-analytics/beacon/api"
)

// TestSSOMembershipsFollowGroups (AC-2): with OIDC_ROLE_MAP, every sign-in brings the
// memberships the identity provider's groups granted in step with the groups: added, changed,
// removed, each audited, while a membership granted by hand is never touched, even when the groups
// name its project. An owner's change by hand takes a membership over. Groups that map to nothing
// remove the SSO memberships; the account still signs in while a hand-granted membership remains.
func TestSSOMembershipsFollowGroups(t *testing.T) {
	t.Parallel()
	const ownerPW = "the owner's long enough password"
	var a, b, c, d, ada string
	e := newSSOEnv(t, func(e *env, _ *api.Config, oc *api.OIDCConfig) {
		a, b, c, d = e.project("A"), e.project("B"), e.project("C"), e.project("D")
		owner := e.account("owner@example.com", ownerPW, false)
		e.exec(`SELECT beacon.set_membership($1, $2, 'owner'), beacon.set_membership($1, $3, 'owner')`, owner, b, c)
		oc.AllowedDomains = nil
		oc.RoleMap = map[string][]api.RoleGrant{
			"g1": {{Project: a, Role: "editor"}},
			"g2": {{Project: b, Role: "viewer"}},
			"g3": {{Project: c, Role: "owner"}},
			"g4": {{Project: d, Role: "viewer"}},
			"g5": {{Project: d, Role: "editor"}},
		}
	})
	signIn := func(groups ...string) string {
		t.Helper()
		return e.ssoBrowser().sso(e.idp, user("s-ada", "ada@example.com", true, groups...), "")
	}
	// memberships lists ada's as project:role:managed_by, by project name.
	memberships := func() string {
		t.Helper()
		return scalar[string](e.env, `SELECT coalesce(string_agg(p.name || ':' || m.role || ':' || coalesce(m.managed_by, 'hand'), ' ' ORDER BY p.name), '')
			FROM beacon.memberships m JOIN beacon.projects p USING (project_id) JOIN beacon.accounts x USING (account_id)
			WHERE x.email = 'ada@example.com'`)
	}
	audited := func(action, project, after string) int {
		t.Helper()
		return scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = $1
			AND target = 'project:' || $2 || '/account:' || $3 AND coalesce(after, '{}') = $4::jsonb`, action, project, ada, after)
	}

	if got := signIn("g1"); got != "/" {
		t.Fatalf("first sign-in went to %q", got)
	}
	ada = scalar[string](e.env, `SELECT account_id::text FROM beacon.accounts WHERE email = 'ada@example.com'`)
	if got := memberships(); got != "A:editor:sso" {
		t.Fatalf("provisioned memberships %q, want A:editor:sso", got)
	}
	// An owner grants C by hand (as the CLI and the dashboard do).
	e.exec(`SELECT beacon.set_membership($1, $2, 'viewer')`, ada, c)

	// Moved from g1 to g2, and into g3, which names C: A goes, B comes, C stays as granted.
	if got := signIn("g2", "g3"); got != "/" {
		t.Fatalf("sign-in after moving groups went to %q", got)
	}
	if got := memberships(); got != "B:viewer:sso C:viewer:hand" {
		t.Fatalf("memberships after moving groups %q, want B:viewer:sso C:viewer:hand", got)
	}
	if n := audited("membership_removed", a, `{"managed_by": "sso"}`); n != 1 {
		t.Errorf("A's removal audited %d times, want 1", n)
	}
	if n := audited("membership_added", b, `{"role": "viewer", "managed_by": "sso"}`); n != 1 {
		t.Errorf("B's addition audited %d times, want 1", n)
	}

	// The owner raises B by hand in the dashboard: the membership becomes theirs.
	owner := e.browser()
	owner.mustSignIn("owner@example.com", ownerPW)
	if r := owner.send("PATCH", "/api/projects/"+b+"/members/"+ada, map[string]string{"role": "editor"}); r.status != http.StatusOK {
		t.Fatalf("owner changes B's role: %d %s", r.status, r.body)
	}
	if n := audited("membership_changed", b, `{"role": "editor"}`); n != 1 {
		t.Errorf("B's change by hand audited %d times, want 1", n)
	}

	// g4, then g5 for the same project: D added, then raised, managed by SSO; B and C left alone.
	for _, step := range []struct{ group, want string }{
		{"g4", "B:editor:hand C:viewer:hand D:viewer:sso"},
		{"g5", "B:editor:hand C:viewer:hand D:editor:sso"},
		{"g5", "B:editor:hand C:viewer:hand D:editor:sso"}, // no change, no audit row
	} {
		if got := signIn(step.group); got != "/" {
			t.Fatalf("sign-in with %s went to %q", step.group, got)
		}
		if got := memberships(); got != step.want {
			t.Fatalf("memberships after %s: %q, want %q", step.group, got, step.want)
		}
	}
	if n := audited("membership_changed", d, `{"role": "editor", "managed_by": "sso"}`); n != 1 {
		t.Errorf("D's change by the groups audited %d times, want 1", n)
	}

	// Groups that map to nothing: the SSO membership goes, the hand-granted ones keep the account in.
	if got := signIn(); got != "/" {
		t.Fatalf("sign-in with no mapped group but hand-granted memberships went to %q", got)
	}
	if got := memberships(); got != "B:editor:hand C:viewer:hand" {
		t.Fatalf("memberships with no mapped group %q, want the hand-granted ones", got)
	}
}

// TestSSORefusesWhenGroupsGiveNothing: an account whose groups now map to nothing, in no allowed
// domain, with no membership granted by hand, loses its SSO memberships and is refused (audited
// sso_refused not_allowed); its account stays, and mapped groups let it in again.
func TestSSORefusesWhenGroupsGiveNothing(t *testing.T) {
	t.Parallel()
	var a string
	e := newSSOEnv(t, func(e *env, _ *api.Config, oc *api.OIDCConfig) {
		a = e.project("A")
		oc.AllowedDomains = nil
		oc.RoleMap = map[string][]api.RoleGrant{"g1": {{Project: a, Role: "editor"}}}
	})
	if got := e.ssoBrowser().sso(e.idp, user("s-bob", "bob@example.com", true, "g1"), ""); got != "/" {
		t.Fatalf("first sign-in went to %q", got)
	}
	br := e.ssoBrowser()
	if got := refusedWith(br.sso(e.idp, user("s-bob", "bob@example.com", true, "g-unmapped"), "")); got != "not_allowed" {
		t.Fatalf("groups mapping to nothing: refusal %q, want not_allowed", got)
	}
	if s := br.session(); s.status != http.StatusUnauthorized {
		t.Fatalf("a refused sign-in got a session: %d", s.status)
	}
	bob := scalar[string](e.env, `SELECT account_id::text FROM beacon.accounts WHERE email = 'bob@example.com'`)
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.memberships WHERE account_id = $1`, bob); n != 0 {
		t.Fatalf("%d memberships left after the groups gave nothing, want 0", n)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'membership_removed'
		AND target = 'project:' || $1 || '/account:' || $2`, a, bob); n != 1 {
		t.Fatalf("the removal audited %d times, want 1", n)
	}
	if n := scalar[int](e.env, `SELECT count(*)::int FROM beacon.audit WHERE action = 'sso_refused'
		AND after->>'reason' = 'not_allowed' AND account_id = $1`, bob); n != 1 {
		t.Fatalf("the refusal audited %d times, want 1", n)
	}
	if got := e.ssoBrowser().sso(e.idp, user("s-bob", "bob@example.com", true, "g1"), ""); got != "/" {
		t.Fatalf("back in g1: sign-in went to %q", got)
	}
}
