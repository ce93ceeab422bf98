package ws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/store"
)

// sender is who a message comes from: the connection's (or request's) query parameters, plus
// the user id: the one the anon id was identified as before (looked up once, on connect or at a
// POST's first event), or the one an identify has named since.
type sender struct {
	project uuid.UUID
	session string
	anon    string
	user    string
	known   bool // user is looked up (or named by an identify): no lookup needed
}

// toEvent validates an event message and makes its row. The decoded message owns its memory, so
// the row can keep the name and props as they are. A warning (nil mostly) is for the sender: the
// event is stored, but not quite as sent; it is counted here, for both doors.
func (s *Server) toEvent(m *protocol.Message, from *sender, received time.Time) (pgbatch.Event, *protocol.Warning, *protocol.Error) {
	ev, e := s.cfg.Limits.Event(m, received)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	if ev.TSReplaced != "" {
		s.obs.TSReplaced(ev.TSReplaced)
	}
	return pgbatch.Event{
		ProjectID: from.project, EventID: ev.ID, SessionID: from.session, AnonID: from.anon,
		UserID: from.user, Name: ev.Name, Props: ev.Props, TS: ev.TS, ReceivedAt: received, SentTS: ev.SentTS,
	}, ev.Warning, nil
}

// identify validates an identify message and records it. A *protocol.Error is the client's
// fault; any other error is the database's, and the message should be re-sent later.
func (s *Server) identify(ctx context.Context, m *protocol.Message, from *sender) (*protocol.Error, error) {
	userID, traits, e := s.cfg.Limits.Identify(m)
	if e != nil {
		return e, nil
	}
	err := s.store.Identify(ctx, from.project.String(), from.anon, userID, m.UserHash, traits)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
	case errors.As(err, &pgErr) && trustCodes[pgErr.Code] != "":
		return protocol.NewError(trustCodes[pgErr.Code], pgErr.Message), nil
	case pgErr != nil && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23"): // refused by PostgreSQL (see Store)
		return protocol.NewError(protocol.CodeRejected, pgErr.Message), nil
	default:
		return nil, fmt.Errorf("identify: %w", err)
	}
	from.user, from.known = userID, true
	return nil, nil
}

// trustCodes maps the SQLSTATEs beacon.identify raises for the trust rules (store.SQLState…) to
// the client's error code. The connection lives on; re-sending the same identify cannot help.
var trustCodes = map[string]string{
	store.SQLStateIdentityUnverified: protocol.CodeIdentityUnverified,
	store.SQLStateTraitsTooLarge:     protocol.CodeTraitsTooLarge,
}

// rowError turns a batcher rejection into the client's answer; nil for anything else.
func rowError(err error) *protocol.Error {
	var rowErr *pgbatch.RowError
	if errors.As(err, &rowErr) {
		return protocol.NewError(protocol.CodeRejected, rowErr.Message)
	}
	return nil
}
