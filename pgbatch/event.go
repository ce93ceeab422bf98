// Package pgbatch buffers events from every connection in one bounded buffer and writes them to
// beacon.events with COPY, in batches flushed by size or age. Each event's done callback runs
// once: after the transaction holding it commits, or with a *RowError when PostgreSQL rejects
// that one row. A failing row never takes its batch down, a re-sent event is stored once, and
// transient errors are retried with backoff while the buffer's byte limit holds memory bounded.
package pgbatch

import (
	"encoding/binary"
	"io"
	"strings"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Event is one row of beacon.events.
type Event struct {
	ProjectID  uuid.UUID
	EventID    uuid.UUID
	SessionID  string
	AnonID     string
	UserID     string // "" stores NULL: not identified yet
	Name       string
	Props      []byte // a JSON object, already validated
	TS         time.Time
	ReceivedAt time.Time
}

// eventOverhead is the memory one buffered event holds beyond its strings and props: its slot in
// a batch (an item, ~176 bytes), the batcher's and the connection's done closures, the
// connection's ack bookkeeping and allocator rounding. The outage benchmark (docs/benchmarks.md)
// measured ~430 live bytes for an event of ~190 bytes of strings and props; 160 here let the
// live buffer grow to ~1.3× BUFFER_LIMIT_BYTES.
const eventOverhead = int(unsafe.Sizeof(item{})) + 96

// size is the event's weight against the buffer limit.
func (e *Event) size() int64 {
	return int64(eventOverhead + len(e.SessionID) + len(e.AnonID) + len(e.UserID) + len(e.Name) + len(e.Props))
}

// columns are beacon.events' columns in the order appendCopy writes them.
var columns = []string{"project_id", "event_id", "session_id", "anon_id", "user_id", "name", "props", "ts", "received_at"}

// copySQL is the COPY statement for table (already quoted) with columns, in the binary format
// appendCopy writes.
func copySQL(table string) string {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return "COPY " + table + " (" + strings.Join(quoted, ", ") + ") FROM STDIN BINARY"
}

// copyHeader starts PostgreSQL's binary COPY format: signature, flags 0, no header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// microsecondsToY2K is the binary timestamptz's epoch, 2000-01-01, in µs after the Unix epoch.
const microsecondsToY2K = 946_684_800_000_000

// appendCopy appends e as one tuple of the binary COPY format, in columns' order: the bytes
// pgx.CopyFrom sends for the same values (TestCopyEncoding), without its per-value plan lookups,
// reflection and boxing (BenchmarkRow: ~20 ns per row instead of ~550, no allocation).
func (e *Event) appendCopy(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(columns)))
	b = binary.BigEndian.AppendUint32(b, 16)
	b = append(b, e.ProjectID[:]...)
	b = binary.BigEndian.AppendUint32(b, 16)
	b = append(b, e.EventID[:]...)
	b = appendCopyText(b, e.SessionID)
	b = appendCopyText(b, e.AnonID)
	if e.UserID == "" {
		b = binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL: not identified yet
	} else {
		b = appendCopyText(b, e.UserID)
	}
	b = appendCopyText(b, e.Name)
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(e.Props)))
	b = append(b, 1) // jsonb's binary format: version 1, then the JSON text
	b = append(b, e.Props...)
	b = appendCopyTime(b, e.TS)
	return appendCopyTime(b, e.ReceivedAt)
}

func appendCopyText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendCopyTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(t.Unix()*1_000_000+int64(t.Nanosecond())/1000-microsecondsToY2K))
}

// copyReader streams a batch in the binary COPY format, encoding rows as the connection asks for
// them, up to copyChunk bytes at a time.
type copyReader struct {
	batch []item
	next  int // first row not yet encoded
	buf   []byte
	off   int // read position in buf
	ended bool
}

const copyChunk = 64 << 10

func newCopyReader(batch []item) *copyReader {
	return &copyReader{batch: batch, buf: append(make([]byte, 0, copyChunk+1024), copyHeader...)}
}

func (r *copyReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.ended {
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		for r.next < len(r.batch) && len(r.buf) < copyChunk {
			r.buf = r.batch[r.next].ev.appendCopy(r.buf)
			r.next++
		}
		if r.next == len(r.batch) {
			r.buf = append(r.buf, 0xff, 0xff) // the trailer: a tuple of -1 fields
			r.ended = true
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// RowError is passed to an event's done callback when PostgreSQL rejected that row itself (bad
// encoding, a value a column refuses). Re-sending the same event cannot succeed.
type RowError struct {
	Code    string // SQLSTATE
	Message string
}

func (e *RowError) Error() string { return "row rejected by PostgreSQL (" + e.Code + "): " + e.Message }
