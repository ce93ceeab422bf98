package sql_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// The BI login recipe of docs/bi.md, run as written (with a name of its own: roles are
// cluster-wide), gives a login that finds the views without a schema, cannot write, and has a
// statement timeout; and analytics.period_visitors, read through it, counts each person once per
// period in the project's time zone, as analytics.visitors and the raw events do.
func TestBILoginRecipeAndPeriodVisitors(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/bi.md")
	if err != nil {
		t.Fatal(err)
	}
	var recipe string
	for _, blk := range strings.Split(string(doc), "```sql\n")[1:] {
		if blk = blk[:strings.Index(blk, "```")]; strings.Contains(blk, "CREATE ROLE metabase") {
			recipe = blk
		}
	}
	if !strings.Contains(recipe, "ALTER ROLE metabase SET search_path = analytics") {
		t.Fatalf("no login recipe with a search_path in docs/bi.md:\n%s", recipe)
	}
	db := testdb.New(t)
	login := fmt.Sprintf("bi_test_%d", time.Now().UnixNano())
	exec(t, db.Pool, strings.ReplaceAll(recipe, "metabase", login))
	t.Cleanup(func() { _, _ = db.Pool.Exec(context.Background(), `DROP ROLE IF EXISTS `+login) })

	p := tzProject(t, db, la)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	copyEvents(t, db.Pool, aroundMidnights(p, today)...)
	exec(t, db.Pool, `SELECT beacon.identify($1, 'a2', 'u1'), beacon.identify($1, 'a3', 'u1')`, p)
	refresh(t, db)

	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(login, "change-me")
	bi, err := pgx.Connect(ctx(t), u.String())
	if err != nil {
		t.Fatalf("connect as the BI login: %v", err)
	}
	t.Cleanup(func() { _ = bi.Close(context.Background()) })

	for setting, want := range map[string]string{"search_path": "analytics", "statement_timeout": "1min", "default_transaction_read_only": "on"} {
		if got := scalar[string](t, bi, `SELECT current_setting($1)`, setting); got != want {
			t.Errorf("%s = %q for the BI login, want %q", setting, got, want)
		}
	}
	if n := scalar[int](t, bi, `SELECT count(*) FROM daily WHERE project_id = $1`, p); n < 5 {
		t.Errorf("unqualified daily: %d rows, want at least 5", n)
	}
	_, err = bi.Exec(ctx(t), `CREATE TEMP TABLE scratch (x int)`)
	wantErr(t, err, "25006", "read-only transaction")

	// Each period against analytics.visitors and against the raw events of its local days.
	rows, err := bi.Query(ctx(t), `SELECT period, first_day, last_day, visitors, users, sessions, events, pageviews
		FROM period_visitors WHERE project_id = $1 ORDER BY period`, p)
	if err != nil {
		t.Fatal(err)
	}
	type period struct {
		name                                         string
		from, to                                     time.Time
		visitors, users, sessions, events, pageviews int64
	}
	var got []period
	var r period
	if _, err := pgx.ForEachRow(rows, []any{&r.name, &r.from, &r.to, &r.visitors, &r.users, &r.sessions, &r.events, &r.pageviews}, func() error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("%d periods, want 5: %+v", len(got), got)
	}
	localToday := scalar[time.Time](t, db.Pool, `SELECT (now() AT TIME ZONE $1)::date`, la)
	for _, r := range got {
		have := fmt.Sprintf("%d %d %d %d %d", r.visitors, r.users, r.sessions, r.events, r.pageviews)
		want := scalar[string](t, db.Pool, `
			SELECT concat_ws(' ',
			    count(DISTINCT CASE WHEN person_id IS NULL THEN 'anon ' || anon_id ELSE 'user ' || person_id END)
			        FILTER (WHERE person_id IS NOT NULL OR anon_id <> ''),
			    count(DISTINCT person_id), count(DISTINCT session_id) FILTER (WHERE session_id <> ''),
			    count(*), count(*) FILTER (WHERE name = '$pageview'))
			FROM analytics.events WHERE project_id = $1 AND (ts AT TIME ZONE $2)::date BETWEEN $3 AND $4`, p, la, r.from, r.to)
		if have != want {
			t.Errorf("%s (%s–%s): period_visitors %s, counted from the events %s", r.name, r.from.Format(time.DateOnly), r.to.Format(time.DateOnly), have, want)
		}
		fn := scalar[string](t, db.Pool, `SELECT visitors || ' ' || users || ' ' || sessions FROM analytics.visitors($1, $2, $3)`, p, r.from, r.to)
		if !strings.HasPrefix(have, fn+" ") {
			t.Errorf("%s: period_visitors %s, analytics.visitors %s", r.name, have, fn)
		}
		if r.name == "last_7_days" && (!r.to.Equal(localToday) || r.to.Sub(r.from) != 6*24*time.Hour || r.visitors == 0) {
			t.Errorf("last_7_days is %s–%s with %d visitors, want the 7 days ending %s", r.from, r.to, r.visitors, localToday.Format(time.DateOnly))
		}
	}
}
