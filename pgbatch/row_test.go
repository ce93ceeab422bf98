package pgbatch

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

var rowOIDs = []uint32{pgtype.UUIDOID, pgtype.UUIDOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID,
	pgtype.JSONBOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID}

// encodeRow encodes vals as COPY's binary encoding does (pgx's encodeCopyValue).
func encodeRow(m *pgtype.Map, buf []byte, vals []any) ([]byte, error) {
	for i, v := range vals {
		sp := len(buf)
		buf = append(buf, 0xff, 0xff, 0xff, 0xff) // NULL unless a value follows
		out, err := m.Encode(rowOIDs[i], pgtype.BinaryFormatCode, v, buf)
		if err != nil {
			return nil, err
		}
		if out != nil {
			buf = out
			binary.BigEndian.PutUint32(buf[sp:], uint32(len(buf)-sp-4))
		}
	}
	return buf, nil
}

// rowValues is row() before the pointer-shaped valuers: plain values.
func (e *Event) rowValues() []any {
	var user any
	if e.UserID != "" {
		user = e.UserID
	}
	return []any{pgtype.UUID{Bytes: e.ProjectID, Valid: true}, pgtype.UUID{Bytes: e.EventID, Valid: true},
		e.SessionID, e.AnonID, user, e.Name, e.Props, e.TS, e.ReceivedAt}
}

func testEvent(user string) *Event {
	now := time.Now()
	return &Event{ProjectID: uuid.New(), EventID: uuid.Must(uuid.NewV7()), SessionID: "s-1", AnonID: "a-1", UserID: user,
		Name: "$pageview", Props: []byte(`{"path":"/pricing","referrer":"https://news.ycombinator.com/"}`), TS: now, ReceivedAt: now.Add(time.Millisecond)}
}

// TestRowEncoding: the valuers encode byte for byte as the plain values do.
func TestRowEncoding(t *testing.T) {
	m := pgtype.NewMap()
	for _, user := range []string{"", "u-42"} {
		e := testEvent(user)
		got, err := encodeRow(m, nil, e.row())
		if err != nil {
			t.Fatal(err)
		}
		want, err := encodeRow(m, nil, e.rowValues())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("user %q: encoded\n%x\nwant\n%x", user, got, want)
		}
	}
}

func BenchmarkRow(b *testing.B) {
	m := pgtype.NewMap()
	e := testEvent("")
	buf := make([]byte, 0, 1024)
	for _, c := range []struct {
		name string
		row  func() []any
	}{{"valuers", e.row}, {"values", e.rowValues}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeRow(m, buf[:0], c.row()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
