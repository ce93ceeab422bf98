package segment

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/store"
)

// result answers a request: how many messages were taken, and why each other one was not (by its
// index in the batch, with its messageId). success is true when the request was handled, even
// with refused messages: a library must not re-send them (re-sending cannot help).
type result struct {
	Success  bool      `json:"success"`
	Accepted int       `json:"accepted"`
	Errors   []msgNote `json:"errors"`
	Warnings []msgNote `json:"warnings,omitempty"`
}

// msgNote is the error of the message at Index, or a warning on it when it was accepted.
type msgNote struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	protocol.Error
}

// ingest handles req's messages in order and waits, at most CommitTimeout, for every event to
// commit. An error means not everything could be stored: the whole request is to be re-sent
// (events are stored once by messageId; identify and alias may repeat harmlessly).
func (h *Handler) ingest(ctx context.Context, req *request) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CommitTimeout)
	defer cancel()
	res := &result{Success: true, Errors: []msgNote{}}
	queue := pgbatch.NewRequest(h.batcher, len(req.Batch))
	req.received = time.Now()
	for i := range req.Batch {
		id, e, err := h.one(ctx, req, i, queue, res)
		if err != nil {
			return nil, err
		}
		h.reject(res, i, id, e)
	}
	if err := queue.Wait(ctx); err != nil {
		return nil, err
	}
	res.Accepted = len(req.Batch) - len(res.Errors)
	return res, nil
}

// reject records message i's error e, if any.
func (h *Handler) reject(res *result, i int, id string, e *protocol.Error) {
	if e != nil {
		h.cfg.Observer.SegmentMessageRefused(e.Code)
		res.Errors = append(res.Errors, msgNote{Index: i, MessageID: id, Error: *e})
	}
}

// one handles the message at index i: an event is queued (its answer lands in res), an identify
// or alias is stored now. It returns the messageId, a *protocol.Error that refuses the message, or
// an error that is the database's.
func (h *Handler) one(ctx context.Context, req *request, i int, queue *pgbatch.Request, res *result) (string, *protocol.Error, error) {
	m, e := decodeMessage(req.Batch[i])
	if e == nil {
		e = h.check(&m, req)
	}
	if e != nil {
		h.cfg.Observer.SegmentMessage("invalid")
		return m.MessageID, e, nil
	}
	h.cfg.Observer.SegmentMessage(m.Type)
	if m.Type == typeIdentify || m.Type == typeAlias {
		e, err := h.identity(ctx, req.project, &m)
		return m.MessageID, e, err
	}
	ev, w, e := h.event(req, &m)
	if e != nil {
		return m.MessageID, e, nil
	}
	return m.MessageID, nil, queue.Add(ctx, ev, func(rowErr *pgbatch.RowError) {
		if rowErr != nil {
			h.reject(res, i, m.MessageID, protocol.NewError(protocol.CodeRejected, rowErr.Message))
		} else if w != nil {
			res.Warnings = append(res.Warnings, msgNote{Index: i, MessageID: m.MessageID, Error: *w})
		}
	})
}

// check validates what every message needs: a type the endpoint takes, and a usable userId or
// anonymousId.
func (h *Handler) check(m *message, req *request) *protocol.Error {
	m.Type = cmp.Or(m.Type, req.single) // a single-type endpoint's body may leave type out
	switch {
	case req.single != "" && m.Type != req.single:
		return protocol.NewError(CodeNotAllowed, "a "+strconv.Quote(m.Type)+" message does not belong on /v1/"+req.single)
	case !slices.Contains(types, m.Type):
		return protocol.NewError(protocol.CodeUnknownType, "type must be track, page, screen, identify, group or alias")
	case m.UserID == "" && m.AnonymousID == "":
		return protocol.NewError(protocol.CodeBadUserID, "a message needs a userId or an anonymousId")
	case m.UserID != "" && !h.cfg.Limits.CheckText(m.UserID):
		return protocol.NewError(protocol.CodeBadUserID, "userId must be printable text of at most "+strconv.Itoa(h.cfg.Limits.MaxIDBytes)+" bytes")
	case m.AnonymousID != "" && !h.cfg.Limits.CheckText(m.AnonymousID):
		return protocol.NewError(protocol.CodeBadID, "anonymousId must be printable text of at most "+strconv.Itoa(h.cfg.Limits.MaxIDBytes)+" bytes")
	case len(m.MessageID) > 1000:
		return protocol.NewError(protocol.CodeBadID, "messageId must be at most 1,000 bytes")
	}
	return nil
}

// eventNames are the Beacon event names of the Segment types that become events (track's is
// its own event).
var eventNames = map[string]string{typePage: "$pageview", typeScreen: "$screen", typeGroup: "$group"}

// event maps a track, page, screen or group message to its row; protocol.Limits validates it as
// it validates every door's events.
func (h *Handler) event(req *request, m *message) (pgbatch.Event, *protocol.Warning, *protocol.Error) {
	if m.Type == typeGroup && (m.GroupID == "" || !h.cfg.Limits.CheckText(m.GroupID)) {
		return pgbatch.Event{}, nil, protocol.NewError(protocol.CodeBadMessage, "group needs a groupId of printable text within the length limit")
	}
	ctxRaw := m.Context
	if len(ctxRaw) == 0 || string(ctxRaw) == "null" {
		ctxRaw = req.Context
	}
	p, e := props(m, ctxRaw)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	ts, e := clientTime(m, req.SentAt, req.received)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	pm := protocol.Message{Type: protocol.TypeEvent, Event: cmp.Or(eventNames[m.Type], m.Event), Props: p, TS: ts}
	if m.MessageID != "" {
		pm.ID = EventID(req.project, m.MessageID).String()
	}
	ev, e := h.cfg.Limits.Event(&pm, req.received)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	if ev.TSReplaced != "" {
		h.cfg.Observer.TSReplaced(ev.TSReplaced)
	}
	return pgbatch.Event{
		ProjectID: req.project, EventID: ev.ID, AnonID: m.AnonymousID, UserID: m.UserID, Name: ev.Name,
		Props: ev.Props, TS: ev.TS, ReceivedAt: req.received, SentTS: ev.SentTS,
		// The skew-corrected ts of a re-send differs with its sentAt: recognise it by id.
		ByID: m.MessageID != "",
	}, ev.Warning, nil
}

// identity stores an alias (previousId → userId, both required) or an identify (userId required;
// traits merged into the user's). Traits over the per-user bounds and data PostgreSQL refuses are
// the message's fault (re-sending cannot help); any other error is the database's.
func (h *Handler) identity(ctx context.Context, project uuid.UUID, m *message) (*protocol.Error, error) {
	var err error
	switch {
	case m.Type == typeAlias && (m.UserID == "" || m.PreviousID == "" || !h.cfg.Limits.CheckText(m.PreviousID)):
		return protocol.NewError(protocol.CodeBadUserID, "alias needs a userId and a previousId of printable text within the length limit"), nil
	case m.Type == typeAlias:
		_, err = h.store.Alias(ctx, project, m.PreviousID, m.UserID)
	case m.UserID == "": // check let it through with an anonymousId
		return protocol.NewError(protocol.CodeBadUserID, "identify needs a userId: Beacon keeps traits on identified users only"), nil
	default:
		userID, traits, e := h.cfg.Limits.Identify(&protocol.Message{Type: protocol.TypeIdentify, UserID: m.UserID, Traits: m.Traits})
		if e != nil {
			return e, nil
		}
		err = h.store.IdentifyVerified(ctx, project, m.AnonymousID, userID, traits)
	}
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &pgErr) && pgErr.Code == store.SQLStateTraitsTooLarge:
		return protocol.NewError(protocol.CodeTraitsTooLarge, pgErr.Message), nil
	case errors.As(err, &pgErr) && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23"):
		return protocol.NewError(protocol.CodeRejected, pgErr.Message), nil
	}
	return nil, err
}
