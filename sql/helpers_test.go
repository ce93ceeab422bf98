package sql_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/beacon-analytics/beacon/internal/testdb"
)

// eventColumns are the columns the relay COPYs into beacon.events (the ingest contract).
var eventColumns = []string{"project_id", "event_id", "session_id", "anon_id", "user_id", "name", "props", "ts", "received_at"}

// ev is one event as the relay would COPY it.
type ev struct {
	project, session, anon string
	user                   *string
	name                   string
	props                  map[string]any
	ts                     time.Time
	received               time.Time
	id                     pgtype.UUID
}

func (e ev) row() []any {
	id := e.id
	if !id.Valid {
		id = newUUID()
	}
	props := e.props
	if props == nil {
		props = map[string]any{}
	}
	recv := e.received
	if recv.IsZero() {
		recv = time.Now()
	}
	return []any{mustUUID(e.project), id, e.session, e.anon, e.user, e.name, props, e.ts, recv}
}

func ptr(s string) *string { return &s }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// newUUID returns a random (v4) UUID.
func newUUID() pgtype.UUID {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return pgtype.UUID{Bytes: b, Valid: true}
}

// uuidV7 returns a UUIDv7 whose time is at.
func uuidV7(at time.Time) pgtype.UUID {
	u := newUUID()
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(u.Bytes[0:6], ms[2:8])
	u.Bytes[6] = u.Bytes[6]&0x0f | 0x70
	return u
}

func mustUUID(s string) pgtype.UUID {
	var u pgtype.UUID
	if err := u.Scan(s); err != nil {
		panic(fmt.Sprintf("bad uuid %q: %v", s, err))
	}
	return u
}

// querier is what tests run SQL on: a pool, a connection or a transaction.
type querier interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
	CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error)
}

func exec(t testing.TB, q querier, sql string, args ...any) {
	t.Helper()
	if _, err := q.Exec(ctx(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", oneLine(sql), err)
	}
}

// scalar runs a one-value query and returns its value as T.
func scalar[T any](t testing.TB, q querier, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := q.QueryRow(ctx(t), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", oneLine(sql), err)
	}
	return v
}

func newProject(t testing.TB, q querier) string {
	t.Helper()
	return scalar[string](t, q, `INSERT INTO beacon.projects (name) VALUES ('test') RETURNING project_id::text`)
}

func copyEvents(t testing.TB, q querier, evs ...ev) {
	t.Helper()
	rows := make([][]any, len(evs))
	for i, e := range evs {
		rows[i] = e.row()
	}
	if _, err := q.CopyFrom(ctx(t), pgx.Identifier{"beacon", "events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
		t.Fatalf("copy %d events: %v", len(evs), err)
	}
}

// wantErr asserts err is a PostgreSQL error with SQLSTATE code whose message contains msg.
func wantErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("error = %v, want SQLSTATE %s %q", err, code, msg)
	}
	if pgErr.Code != code || !strings.Contains(pgErr.Message, msg) {
		t.Fatalf("error = %s %q, want %s containing %q", pgErr.Code, pgErr.Message, code, msg)
	}
}

// conn opens a dedicated connection (its own session: SET ROLE stays in it), closed when the test
// ends.
func conn(t testing.TB, db *testdb.DB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx(t), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
