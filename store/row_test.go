package store

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/beacon-analytics/beacon/protocol"
)

var rowOIDs = []uint32{pgtype.UUIDOID, pgtype.UUIDOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID,
	pgtype.JSONBOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID}

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

// rowValues are an event's values as pgx.CopyFrom took them before appendCopy.
func (e *Event) rowValues() []any {
	var user, sent any
	if e.UserID != "" {
		user = e.UserID
	}
	if !e.SentTS.IsZero() {
		sent = e.SentTS
	}
	return []any{pgtype.UUID{Bytes: e.ProjectID, Valid: true}, pgtype.UUID{Bytes: e.EventID, Valid: true},
		e.SessionID, e.AnonID, user, e.Name, e.Props, e.TS, e.ReceivedAt, sent}
}

func testEvent(user string) *Event {
	now := time.Now()
	return &Event{ProjectID: uuid.New(), EventID: uuid.Must(uuid.NewV7()), SessionID: "s-1", AnonID: "a-1", UserID: user,
		Name: "$pageview", Props: []byte(`{"path":"/pricing","referrer":"https://news.ycombinator.com/"}`), TS: now, ReceivedAt: now.Add(time.Millisecond)}
}

// TestCopyEncoding: appendCopy writes the tuple pgx.CopyFrom wrote for the plain values (a field
// count, then each value's length and binary encoding), NULL user and sent_ts included; the
// largest ts a client may send (protocol.MaxTSMillis) as sent_ts too.
func TestCopyEncoding(t *testing.T) {
	m := pgtype.NewMap()
	for i, user := range []string{"", "u-42"} {
		for _, ts := range []time.Time{time.Now(), time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Unix(-1, 1).UTC()} {
			e := testEvent(user)
			e.TS = ts
			if i == 1 {
				e.SentTS = time.UnixMilli(protocol.MaxTSMillis)
			}
			want, err := encodeRow(m, binary.BigEndian.AppendUint16(nil, uint16(len(columns))), e.rowValues())
			if err != nil {
				t.Fatal(err)
			}
			if got := e.appendCopy(nil); string(got) != string(want) {
				t.Fatalf("user %q, ts %v: encoded\n%x\nwant\n%x", user, ts, got, want)
			}
		}
	}
}

// TestCopyReader reads whole batches in small and large pieces: header, every tuple, trailer.
func TestCopyReader(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		batch := make(events, n)
		want := []byte(copyHeader)
		for i := range batch {
			batch[i] = *testEvent("")
			want = batch[i].appendCopy(want)
		}
		want = append(want, 0xff, 0xff)
		for _, piece := range []int{1, 7, 100 << 10} {
			r := newCopyReader(batch, (*Event).appendCopy)
			var got []byte
			p := make([]byte, piece)
			for {
				k, err := r.Read(p)
				got = append(got, p[:k]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d rows in pieces of %d: %d bytes, want %d", n, piece, len(got), len(want))
			}
		}
	}
}

func BenchmarkRow(b *testing.B) {
	m := pgtype.NewMap()
	e := testEvent("")
	buf := make([]byte, 0, 1024)
	b.Run("appendCopy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = e.appendCopy(buf[:0])
		}
	})
	b.Run("pgx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeRow(m, buf[:0], e.rowValues()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// events is a plain slice of events as Rows.
type events []Event

func (s events) Len() int         { return len(s) }
func (s events) Row(i int) *Event { return &s[i] }
