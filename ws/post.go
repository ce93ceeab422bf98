package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
)

// postResult answers a POST /v1/events: how many messages were taken, and why each other one was
// not (index into the posted array).
type postResult struct {
	Accepted int        `json:"accepted"`
	Errors   []postNote `json:"errors"`
	Warnings []postNote `json:"warnings,omitempty"` // omitted when none: the answer old senders know
}

// postNote is the error of the message at Index, or a warning on it when it was accepted.
type postNote struct {
	Index int `json:"index"`
	protocol.Error
}

// Ingest serves POST /v1/events?project=…&session=…&anon=…: a JSON array of the WebSocket's
// messages (Content-Type application/json or text/plain, as navigator.sendBeacon sends). It
// answers after every event is committed, or 503 with Retry-After when that takes longer than
// CommitTimeout (a database outage), so a sender is never held without limit.
func (s *Server) Ingest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodOptions {
		w.Header().Set("Allow", "POST, OPTIONS")
		s.refuse(w, &refusal{http.StatusMethodNotAllowed, "method_not_allowed", "use POST"})
		return
	}
	// One token before admission (a project lookup on a cache miss), one per further message after.
	addr := s.clientAddr(r)
	if !s.allowAddr(w, addr, 1) {
		return
	}
	// A preflight is admitted like the POST: a foreign Origin or an unknown project gets admit's
	// refusal and no Access-Control-Allow-Origin, so the browser does not send the POST.
	from, ref := s.admit(r)
	if ref != nil {
		s.refuse(w, ref)
		return
	}
	s.cors(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	msgs, ref := s.readBody(w, r)
	if ref != nil {
		s.refuse(w, ref)
		return
	}
	if !s.allowAddr(w, addr, len(msgs)-1) {
		return
	}
	res, err := s.ingest(r.Context(), from, msgs)
	if err != nil {
		s.log.Warn("ingest", "error", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.CommitTimeout.Seconds()+0.5)))
		s.refuse(w, &refusal{http.StatusServiceUnavailable, protocol.CodeUnavailable, "not all messages could be stored; re-send them later"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]jsontext.Value, *refusal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &refusal{http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than the limit"}
	}
	if err != nil {
		return nil, &refusal{http.StatusBadRequest, "bad_body", "the body could not be read"}
	}
	msgs, e := protocol.SplitBody(body)
	switch e {
	case nil:
		return msgs, nil
	case protocol.ErrTooManyMessages:
		return nil, &refusal{http.StatusRequestEntityTooLarge, e.Code, e.Message}
	default:
		return nil, &refusal{http.StatusBadRequest, e.Code, e.Message}
	}
}

// ingest handles msgs in order (an identify names the user of the events after it) and waits,
// at most CommitTimeout, for every event to commit.
func (s *Server) ingest(ctx context.Context, from *sender, msgs []jsontext.Value) (*postResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommitTimeout)
	defer cancel()
	res := &postResult{Errors: []postNote{}}
	req := pgbatch.NewRequest(s.batcher, len(msgs))
	for i, raw := range msgs {
		e, err := s.ingestOne(ctx, i, raw, from, req, res)
		if err != nil {
			return nil, err
		}
		s.reject(res, i, e)
	}
	if err := req.Wait(ctx); err != nil {
		return nil, err
	}
	res.Accepted = len(msgs) - len(res.Errors)
	return res, nil
}

// ingestOne handles the message at index i: an event is queued to req, whose answer lands in res;
// it returns the message's error, or why it could not be stored now.
func (s *Server) ingestOne(ctx context.Context, i int, raw []byte, from *sender, req *pgbatch.Request, res *postResult) (*protocol.Error, error) {
	m, e := protocol.Decode(raw)
	if e == nil && !s.projectAllows(from.project, m.Type) {
		e = protocol.NewError(protocol.CodeRateLimited, "the project's rate limit is exceeded; re-send this message later")
	}
	if e = s.count(&m, e); e != nil {
		return e, nil
	}
	switch m.Type {
	case protocol.TypeEvent:
		if err := s.knowUser(ctx, from); err != nil {
			return nil, err
		}
		ev, w, e := s.toEvent(&m, from, time.Now())
		if e != nil {
			return e, nil
		}
		return nil, req.Add(ctx, ev, func(rowErr *pgbatch.RowError) {
			if rowErr != nil {
				s.reject(res, i, rowError(rowErr))
			} else if w != nil {
				res.Warnings = append(res.Warnings, postNote{Index: i, Error: *w})
			}
		})
	case protocol.TypeIdentify:
		return s.identify(ctx, &m, from)
	}
	return nil, nil // ping
}

// allowAddr takes n tokens of the client address's bucket, or answers 429 with Retry-After.
func (s *Server) allowAddr(w http.ResponseWriter, addr netip.Addr, n int) bool {
	ok, wait := s.perAddr.allow(addr, n)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		s.refuse(w, &refusal{http.StatusTooManyRequests, protocol.CodeRateLimited, "too many messages from this address; retry after Retry-After seconds"})
	}
	return ok
}

// reject records message i's error e, if any, in res.
func (s *Server) reject(res *postResult, i int, e *protocol.Error) {
	if e != nil {
		s.obs.MessageRejected(e.Code)
		res.Errors = append(res.Errors, postNote{Index: i, Error: *e})
	}
}

// cors lets pages on an admitted origin read the answer (sendBeacon needs none of this). Call it
// only after admit has accepted r's Origin.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
}

// knowUser looks up, once per request, the user from's anon id was identified as, so events sent
// through POST (navigator.sendBeacon on a closing tab) carry the same user_id as the WebSocket's,
// whose connection looks it up on connect. The lookup is beacon.connect, the connection's own
// (its flag set is thrown away): one indexed query per request that carries events.
func (s *Server) knowUser(ctx context.Context, from *sender) error {
	if from.known {
		return nil
	}
	user, _, err := s.flags.Connect(ctx, from.project, from.anon)
	if err != nil {
		return fmt.Errorf("look up the user of anon %q: %w", from.anon, err)
	}
	from.user, from.known = user, true
	return nil
}
