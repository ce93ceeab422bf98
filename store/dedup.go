package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DedupWindow is how long a re-send of an event keyed by id (KeyedByID) is recognised:
// beacon.event_ids keeps its id that long (beacon.purge_event_ids keeps 25 h, an hour of margin
// for clock skew). Events with a deterministic ts are recognised as long as they are kept.
const DedupWindow = 24 * time.Hour

var copyEventIDs = "COPY " + pgx.Identifier{"beacon", "event_ids"}.Sanitize() +
	` ("project_id", "event_id", "received_at") FROM STDIN BINARY`

// KeyedByID reports whether a re-send of e could get another ts, so that beacon.events' unique
// (project_id, event_id, ts) would not see it: its ts is the relay's clock (no usable client or
// UUIDv7 time: TS equals ReceivedAt), or lies ahead of it (a client time that was past the
// plausible limit a moment earlier was replaced, protocol.ResolveTS). Such an event's id is also
// written to beacon.event_ids, which refuses it a second time within DedupWindow. A client ts
// in the past equal to ReceivedAt to the nanosecond is keyed too: harmless. An event whose door
// asked for it (ByID) is keyed whatever its ts.
func (e *Event) KeyedByID() bool { return e.ByID || !e.TS.Before(e.ReceivedAt) }

// keyed returns the positions of rows keyed by id.
func keyed(rows Rows) []int {
	var out []int
	for i := range rows.Len() {
		if rows.Row(i).KeyedByID() {
			out = append(out, i)
		}
	}
	return out
}

// copyIDs writes the ids of rows at idx to beacon.event_ids with COPY: a 23505 means one was
// already stored (a re-send), and the caller takes the ON CONFLICT path (CopyDedup).
func (b *Batch) copyIDs(ctx context.Context, rows Rows, idx []int) error {
	r := newCopyReader(subset{rows: rows, idx: idx}, (*Event).appendID)
	if _, err := b.tx.Conn().PgConn().CopyFrom(ctx, r, copyEventIDs); err != nil {
		return fmt.Errorf("copy event ids: %w", err)
	}
	return nil
}

// appendID appends e's (project_id, event_id, received_at) as one tuple of the binary COPY format.
func (e *Event) appendID(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, 3)
	b = binary.BigEndian.AppendUint32(b, 16)
	b = append(b, e.ProjectID[:]...)
	b = binary.BigEndian.AppendUint32(b, 16)
	b = append(b, e.EventID[:]...)
	return appendCopyTime(b, e.ReceivedAt)
}

// claim records the ids of rows at idx in beacon.event_ids, skipping ids already there, and
// returns rows without the keyed events that were: re-sends within the window, and repeats of an
// id within rows (the first is kept).
func (b *Batch) claim(ctx context.Context, rows Rows, idx []int) (Rows, error) {
	projects, events, received := make([][16]byte, len(idx)), make([][16]byte, len(idx)), make([]time.Time, len(idx))
	for j, i := range idx {
		e := rows.Row(i)
		projects[j], events[j], received[j] = e.ProjectID, e.EventID, e.ReceivedAt
	}
	res, err := b.tx.Query(ctx, `SELECT beacon.claim_event_ids($1::uuid[], $2::uuid[], $3::timestamptz[])`,
		projects, events, received)
	if err != nil {
		return nil, fmt.Errorf("claim event ids: %w", err)
	}
	fresh, err := pgx.CollectRows(res, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("claim event ids: %w", err)
	}
	drop := make([]bool, rows.Len())
	for _, i := range idx {
		drop[i] = true
	}
	for _, pos := range fresh {
		drop[idx[pos-1]] = false
	}
	sub := subset{rows: rows}
	for i, d := range drop {
		if !d {
			sub.idx = append(sub.idx, i)
		}
	}
	return sub, nil
}

// subset is some of a batch's rows, read in place.
type subset struct {
	rows Rows
	idx  []int
}

func (s subset) Len() int         { return len(s.idx) }
func (s subset) Row(i int) *Event { return s.rows.Row(s.idx[i]) }
