package segment

import (
	"context"
	"errors"
	"fmt"
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
	Success  bool         `json:"success"`
	Accepted int          `json:"accepted"`
	Errors   []msgError   `json:"errors"`
	Warnings []msgWarning `json:"warnings,omitempty"`
}

type msgError struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	protocol.Error
}

type msgWarning struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	protocol.Warning
}

// committed is the batcher's answer for the event at index.
type committed struct {
	index   int
	id      string
	err     error
	warning *protocol.Warning
}

// ingest handles req's messages in order and waits, at most CommitTimeout, for every event to
// commit. An error means not everything could be stored: the whole request is to be re-sent
// (events are stored once by messageId; identify and alias may repeat harmlessly).
func (h *Handler) ingest(ctx context.Context, project uuid.UUID, req *request) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CommitTimeout)
	defer cancel()
	res := &result{Success: true, Errors: []msgError{}}
	done := make(chan committed, len(req.msgs)) // room for every answer: a callback never blocks
	pending := 0
	received := time.Now()
	for i, raw := range req.msgs {
		m, queued, e, err := h.one(ctx, project, req, raw, i, received, done)
		if err != nil {
			return nil, err
		}
		if queued {
			pending++
		}
		h.reject(res, i, m.MessageID, e)
	}
	for ; pending > 0; pending-- {
		select {
		case c := <-done:
			var rowErr *pgbatch.RowError
			switch {
			case errors.As(c.err, &rowErr):
				h.reject(res, c.index, c.id, protocol.NewError(protocol.CodeRejected, rowErr.Message))
			case c.err != nil:
				return nil, fmt.Errorf("store event: %w", c.err)
			case c.warning != nil:
				res.Warnings = append(res.Warnings, msgWarning{Index: c.index, MessageID: c.id, Warning: *c.warning})
			}
		case <-ctx.Done():
			return nil, wrapNotCommitted(ctx.Err())
		}
	}
	res.Accepted = len(req.msgs) - len(res.Errors)
	return res, nil
}

// reject records message i's error e, if any.
func (h *Handler) reject(res *result, i int, id string, e *protocol.Error) {
	if e != nil {
		h.obs.SegmentMessageRefused(e.Code)
		res.Errors = append(res.Errors, msgError{Index: i, MessageID: id, Error: *e})
	}
}

// one handles the message at index i: an event is handed to the batcher (queued; its answer
// comes on done), an identify or alias is stored now. A *protocol.Error refuses the message; an
// error is the database's.
func (h *Handler) one(ctx context.Context, project uuid.UUID, req *request, raw []byte, i int, received time.Time,
	done chan<- committed) (message, bool, *protocol.Error, error) {
	if len(raw) > MaxMessageBytes {
		h.obs.SegmentMessage("invalid")
		return message{}, false, protocol.NewError(CodeMessageTooLarge, "the message is larger than the limit of "+strconv.Itoa(MaxMessageBytes)+" bytes (32 KiB)"), nil
	}
	m, e := decodeMessage(raw)
	if e == nil {
		e = h.check(&m, req)
	}
	if e != nil {
		h.obs.SegmentMessage("invalid")
		return m, false, e, nil
	}
	h.obs.SegmentMessage(m.Type)
	switch m.Type {
	case typeIdentify:
		e, err := h.identify(ctx, project, &m)
		return m, false, e, err
	case typeAlias:
		e, err := h.alias(ctx, project, &m)
		return m, false, e, err
	}
	ev, w, e := h.event(project, req, &m, received)
	if e != nil {
		return m, false, e, nil
	}
	err := h.batcher.Add(ctx, ev, func(err error) { done <- committed{index: i, id: m.MessageID, err: err, warning: w} })
	if err != nil {
		return m, false, nil, fmt.Errorf("buffer event: %w", err)
	}
	return m, true, nil, nil
}

// check validates what every message needs: a type the endpoint takes, and a usable userId or
// anonymousId.
func (h *Handler) check(m *message, req *request) *protocol.Error {
	if m.Type == "" {
		m.Type = req.single // a single-type endpoint's body may leave type out
	}
	switch {
	case req.single != "" && m.Type != req.single:
		return protocol.NewError(CodeNotAllowed, "a "+strconv.Quote(m.Type)+" message does not belong on /v1/"+req.single)
	case !knownType(m.Type):
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

func knownType(t string) bool {
	switch t {
	case typeTrack, typePage, typeScreen, typeIdentify, typeGroup, typeAlias:
		return true
	}
	return false
}

// eventNames are the Beacon event names of the Segment types that become events (track's is
// its own event).
var eventNames = map[string]string{typePage: "$pageview", typeScreen: "$screen", typeGroup: "$group"}

// event maps a track, page, screen or group message to its row; protocol.Limits validates it as
// it validates every door's events.
func (h *Handler) event(project uuid.UUID, req *request, m *message, received time.Time) (pgbatch.Event, *protocol.Warning, *protocol.Error) {
	name := m.Event
	if m.Type != typeTrack {
		name = eventNames[m.Type]
	}
	if m.Type == typeGroup && (m.GroupID == "" || !h.cfg.Limits.CheckText(m.GroupID)) {
		return pgbatch.Event{}, nil, protocol.NewError(protocol.CodeBadMessage, "group needs a groupId of printable text within the length limit")
	}
	ctxRaw := m.Context
	if len(ctxRaw) == 0 || string(ctxRaw) == "null" {
		ctxRaw = req.context
	}
	p, e := props(m, ctxRaw)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	ts, e := clientTime(m, req.sentAt, received)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	pm := protocol.Message{Type: protocol.TypeEvent, Event: name, Props: p, TS: ts}
	if m.MessageID != "" {
		pm.ID = EventID(project, m.MessageID).String()
	}
	ev, e := h.cfg.Limits.Event(&pm, received)
	if e != nil {
		return pgbatch.Event{}, nil, e
	}
	if ev.TSReplaced != "" {
		h.obs.TSReplaced(ev.TSReplaced)
	}
	return pgbatch.Event{
		ProjectID: project, EventID: ev.ID, AnonID: m.AnonymousID, UserID: m.UserID, Name: ev.Name,
		Props: ev.Props, TS: ev.TS, ReceivedAt: received, SentTS: ev.SentTS,
		// The skew-corrected ts of a re-send differs with its sentAt: recognise it by id.
		ByID: m.MessageID != "",
	}, ev.Warning, nil
}

// identify stores an identify (userId required; traits merged into the user's).
func (h *Handler) identify(ctx context.Context, project uuid.UUID, m *message) (*protocol.Error, error) {
	pm := protocol.Message{Type: protocol.TypeIdentify, UserID: m.UserID, Traits: m.Traits}
	userID, traits, e := h.cfg.Limits.Identify(&pm)
	if e != nil {
		if e.Code == protocol.CodeBadUserID {
			e.Message = "identify needs a userId: Beacon keeps traits on identified users only"
		}
		return e, nil
	}
	return dbError(h.store.IdentifyVerified(ctx, project, m.AnonymousID, userID, traits))
}

// alias stores an alias: previousId → userId (both required).
func (h *Handler) alias(ctx context.Context, project uuid.UUID, m *message) (*protocol.Error, error) {
	if m.UserID == "" || m.PreviousID == "" || !h.cfg.Limits.CheckText(m.PreviousID) {
		return protocol.NewError(protocol.CodeBadUserID, "alias needs a userId and a previousId of printable text within the length limit"), nil
	}
	_, err := h.store.Alias(ctx, project, m.PreviousID, m.UserID)
	return dbError(err)
}

// dbError sorts a database error: traits over the per-user bounds and data PostgreSQL refuses
// are the message's fault (re-sending cannot help); anything else is the database's.
func dbError(err error) (*protocol.Error, error) {
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
