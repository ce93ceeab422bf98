package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// overviewFilters are the query parameters that filter the overview (docs/dashboard.md).
var overviewFilters = []string{"page", "entry_page", "source", "browser", "os", "device"}

// overviewTables are the tables of the overview, each exportable as CSV.
var overviewTables = map[string]bool{"pages": true, "entry_pages": true, "sources": true, "events": true,
	"browsers": true, "os": true, "devices": true}

// overviewQuery is an overview request's parameters, checked: the SQL resolves the range.
type overviewQuery struct {
	rng      string
	from, to *string
	filters  map[string]string
}

// parseOverview reads range, from, to and the filters; a bad one is a 400 naming it. Unknown
// parameters are ignored, an empty filter is absent.
func parseOverview(q url.Values) (overviewQuery, error) {
	o := overviewQuery{rng: q.Get("range"), filters: map[string]string{}}
	if o.rng == "" {
		o.rng = "7d"
	}
	switch o.rng {
	case "today", "24h", "7d", "30d", "12mo":
	case "custom":
		for _, p := range []struct {
			name string
			dst  **string
		}{{"from", &o.from}, {"to", &o.to}} {
			d, err := time.Parse(time.DateOnly, q.Get(p.name))
			if err != nil {
				return o, badRequest(p.name + " must be a day, YYYY-MM-DD, for range=custom")
			}
			s := d.Format(time.DateOnly)
			*p.dst = &s
		}
		if *o.from > *o.to {
			return o, badRequest("from must not be after to")
		}
	default:
		return o, badRequest("range must be today, 24h, 7d, 30d, 12mo or custom")
	}
	for _, f := range overviewFilters {
		v := q.Get(f)
		if v == "" {
			continue
		}
		if len([]rune(v)) > 500 {
			return o, badRequest(f + " must be at most 500 characters")
		}
		o.filters[f] = v
	}
	return o, nil
}

func badRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "bad_request", msg}
}

// call runs beacon.api_overview for the project; table "" is the whole overview.
// A request that runs past timeout is cancelled by PostgreSQL and answered 503 too_slow.
func (o overviewQuery) call(ctx context.Context, tx pgx.Tx, id uuid.UUID, table *string, timeout time.Duration) ([]byte, error) {
	f, err := json.Marshal(o.filters)
	if err != nil {
		return nil, fmt.Errorf("overview filters: %w", err)
	}
	// In a savepoint: a cancelled count leaves the request's transaction usable (it commits, as
	// for every answer the API gives), and SET LOCAL ends with the savepoint.
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("overview savepoint: %w", err)
	}
	defer sp.Rollback(context.WithoutCancel(ctx))
	if _, err := sp.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", timeout.Milliseconds())); err != nil {
		return nil, fmt.Errorf("overview timeout: %w", err)
	}
	var b []byte
	err = sp.QueryRow(ctx, `SELECT beacon.api_overview($1, $2, $3::date, $4::date, $5::jsonb, $6)`,
		id, o.rng, o.from, o.to, f, table).Scan(&b)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" { // query_canceled: the statement_timeout
		if rerr := sp.Rollback(ctx); rerr != nil {
			return nil, fmt.Errorf("overview: roll back the cancelled count: %w", rerr)
		}
		return nil, &apiError{http.StatusServiceUnavailable, "too_slow", fmt.Sprintf(
			"counting this view took longer than %s; choose a shorter range or remove a filter", timeout)}
	}
	if err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	if err := sp.Commit(ctx); err != nil { // RELEASE SAVEPOINT
		return nil, fmt.Errorf("overview: release: %w", err)
	}
	return b, nil
}

// overviewTimeout is Config.OverviewTimeout, 20 s when unset.
func (s *Server) overviewTimeout() time.Duration {
	if s.cfg.OverviewTimeout > 0 {
		return s.cfg.OverviewTimeout
	}
	return 20 * time.Second
}

// overview is GET /api/projects/{id}/overview?range=&from=&to=&page=…: beacon.api_overview checks
// the membership (a non-member gets 404, as for a project that does not exist), resolves the
// range in the project's time zone and counts.
func (s *Server) overview(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	o, err := parseOverview(r.URL.Query())
	if err != nil {
		return reply{}, err
	}
	b, err := o.call(ctx, tx, id, nil, s.overviewTimeout())
	if err != nil {
		return reply{}, err
	}
	return reply{body: b}, nil
}

// overviewCSV is GET /api/projects/{id}/overview/{table}.csv: one table's top 1,000 rows as CSV
// (RFC 4180, cells that a spreadsheet would run as a formula prefixed with ').
func (s *Server) overviewCSV(ctx context.Context, tx pgx.Tx, _ *account, w http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	table, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	if err != nil || !ok {
		return reply{}, errNotFound
	}
	if !overviewTables[table] {
		return reply{}, &apiError{http.StatusNotFound, "not_found", "no such table"}
	}
	o, err := parseOverview(r.URL.Query())
	if err != nil {
		return reply{}, err
	}
	b, err := o.call(ctx, tx, id, &table, s.overviewTimeout())
	if err != nil {
		return reply{}, err
	}
	var t struct {
		Table, From, To, Metric string
		Rows                    []struct {
			Value string
			Count int64
		}
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return reply{}, fmt.Errorf("overview csv: %w", err)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	_ = cw.Write([]string{"value", t.Metric})
	for _, row := range t.Rows {
		_ = cw.Write([]string{csvCell(row.Value), strconv.FormatInt(row.Count, 10)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return reply{}, fmt.Errorf("overview csv: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT beacon.audit_export($1, $2)`, id, t.Table+" "+t.From+".."+t.To+".csv"); err != nil {
		return reply{}, fmt.Errorf("audit export: %w", err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, t.Table, t.From, t.To))
	return reply{body: buf.Bytes()}, nil
}

// csvCell keeps a spreadsheet from running a value as a formula (CSV injection): a cell that
// starts with = + - @ gets a leading '.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
		return "'" + v
	}
	return v
}

// current is GET /api/projects/{id}/current: distinct visitors of the last 5 minutes
// (beacon.api_current).
func (s *Server) current(ctx context.Context, tx pgx.Tx, _ *account, _ http.ResponseWriter, r *http.Request) (reply, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return reply{}, errNotFound
	}
	var b []byte
	if err := tx.QueryRow(ctx, `SELECT beacon.api_current($1)`, id).Scan(&b); err != nil {
		return reply{}, fmt.Errorf("current: %w", err)
	}
	return reply{body: b}, nil
}
