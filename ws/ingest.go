package ws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/pgbatch"
)

// sender is who a message comes from: the connection's (or request's) query parameters, plus
// the user id once an identify has named one.
type sender struct {
	project uuid.UUID
	session string
	anon    string
	user    string
}

// toEvent validates an event message and makes its row.
func (s *Server) toEvent(m *Message, from *sender, received time.Time) (pgbatch.Event, *ProtocolError) {
	if pe := s.cfg.Limits.CheckName(m.Event); pe != nil {
		return pgbatch.Event{}, pe
	}
	props, pe := s.cfg.Limits.CheckObject(m.Props, CodeBadProps, "props")
	if pe != nil {
		return pgbatch.Event{}, pe
	}
	id, pe := EventID(m.ID)
	if pe != nil {
		return pgbatch.Event{}, pe
	}
	ts, pe := s.cfg.Limits.ResolveTS(m.TS, id, received)
	if pe != nil {
		return pgbatch.Event{}, pe
	}
	// The name and props may share the frame's memory (Decode): copy both, in one allocation, so
	// the buffered row holds exactly its own bytes.
	buf := make([]byte, len(m.Event)+len(props))
	copy(buf, m.Event)
	copy(buf[len(m.Event):], props)
	return pgbatch.Event{
		ProjectID: from.project, EventID: id, SessionID: from.session, AnonID: from.anon,
		UserID: from.user, Name: bytesString(buf[:len(m.Event)]), Props: buf[len(m.Event):],
		TS: ts, ReceivedAt: received,
	}, nil
}

// identify validates an identify message and runs beacon.identify. A *ProtocolError is the
// client's fault; any other error is the database's, and the message should be re-sent later.
func (s *Server) identify(ctx context.Context, m *Message, from *sender) (*ProtocolError, error) {
	if m.UserID == "" || !s.cfg.Limits.CheckText(m.UserID) {
		return perr(CodeBadUserID, "identify needs a non-empty userId of printable text within the length limit"), nil
	}
	traits, pe := s.cfg.Limits.CheckObject(m.Traits, CodeBadTraits, "traits")
	if pe != nil {
		return pe, nil
	}
	_, err := s.pool.Exec(ctx, `SELECT beacon.identify($1, $2, $3, $4::jsonb)`, from.project, from.anon, m.UserID, string(traits))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23") {
		return perr(CodeRejected, pgErr.Message), nil
	}
	if err != nil {
		return nil, fmt.Errorf("identify: %w", err)
	}
	from.user = strings.Clone(m.UserID) // kept for the connection's life; m's may share the frame
	return nil, nil
}

// rowError turns a batcher rejection into the client's answer; nil for anything else.
func rowError(err error) *ProtocolError {
	var rowErr *pgbatch.RowError
	if errors.As(err, &rowErr) {
		return perr(CodeRejected, rowErr.Message)
	}
	return nil
}
