package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/beacon-analytics/beacon/protocol"
)

// postResult answers a POST /v1/events: how many messages were taken, and why each other one was
// not (index into the posted array).
type postResult struct {
	Accepted int         `json:"accepted"`
	Errors   []postError `json:"errors"`
}

type postError struct {
	Index int `json:"index"`
	protocol.Error
}

// errNotCommitted is a POST whose events were not all committed within CommitTimeout.
var errNotCommitted = errors.New("events not committed within the commit timeout")

// Ingest serves POST /v1/events?project=…&session=…&anon=…: a JSON array of the WebSocket's
// messages (Content-Type application/json or text/plain, as navigator.sendBeacon sends). It
// answers after every event is committed, or 503 with Retry-After when that takes longer than
// CommitTimeout (a database outage), so a sender is never held without limit.
func (s *Server) Ingest(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		s.cors(w, r)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		s.refuse(w, &refusal{http.StatusMethodNotAllowed, "method_not_allowed", "use POST"})
		return
	}
	from, ref := s.admit(r)
	if ref != nil {
		s.refuse(w, ref)
		return
	}
	s.cors(w, r)
	msgs, ref := s.readBody(w, r)
	if ref != nil {
		s.refuse(w, ref)
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
	in := &ingestion{res: postResult{Errors: []postError{}}, pending: 1, settled: make(chan struct{})}
	for i, raw := range msgs {
		if err := s.ingestOne(ctx, in, i, raw, from); err != nil {
			in.setLost(err)
		}
		if in.failed() {
			break
		}
	}
	in.answered() // the handing out is over
	select {
	case <-in.settled:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errNotCommitted, ctx.Err())
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.lost != nil {
		return nil, in.lost
	}
	res := in.res
	res.Accepted = len(msgs) - len(res.Errors)
	return &res, nil
}

// ingestOne handles the message at index i; an error means it could not be stored now.
func (s *Server) ingestOne(ctx context.Context, in *ingestion, i int, raw []byte, from *sender) error {
	m, e := protocol.Decode(raw)
	if e == nil && m.Type == protocol.TypeEvent && !s.perProj.allow(from.project) {
		e = protocol.NewError(protocol.CodeRateLimited, "the project's rate limit is exceeded; re-send this message later")
	}
	if e != nil {
		s.obs.Message("invalid")
		s.reject(in, i, e)
		return nil
	}
	s.obs.Message(messageType(m.Type))
	switch m.Type {
	case protocol.TypeEvent:
		ev, e := s.toEvent(&m, from, time.Now())
		if e != nil {
			s.reject(in, i, e)
			return nil
		}
		in.mu.Lock()
		in.pending++
		in.mu.Unlock()
		err := s.batcher.Add(ctx, ev, func(err error) {
			if e := rowError(err); e != nil {
				s.reject(in, i, e)
			} else if err != nil {
				in.setLost(err)
			}
			in.answered()
		})
		if err != nil {
			in.answered()
			return fmt.Errorf("buffer event: %w", err)
		}
	case protocol.TypeIdentify:
		e, err := s.identify(ctx, &m, from)
		if err != nil {
			return err
		}
		if e != nil {
			s.reject(in, i, e)
		}
	case protocol.TypePing:
	default:
		s.reject(in, i, protocol.NewError(protocol.CodeUnknownType, "type must be event, identify or ping"))
	}
	return nil
}

// reject answers message i with e.
func (s *Server) reject(in *ingestion, i int, e *protocol.Error) {
	s.obs.MessageRejected(e.Code)
	in.mu.Lock()
	in.res.Errors = append(in.res.Errors, postError{Index: i, Error: *e})
	in.mu.Unlock()
}

// ingestion is one POST's state while its events commit.
type ingestion struct {
	mu      sync.Mutex
	res     postResult
	lost    error         // the first reason not everything was stored
	pending int           // events handed to the batcher and not yet answered
	settled chan struct{} // closed when pending is back to 0 after the handing out
}

func (in *ingestion) failed() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lost != nil
}

func (in *ingestion) setLost(err error) {
	in.mu.Lock()
	if in.lost == nil {
		in.lost = err
	}
	in.mu.Unlock()
}

// answered counts one event answered by the batcher (or never handed to it).
func (in *ingestion) answered() {
	in.mu.Lock()
	in.pending--
	if in.pending == 0 {
		close(in.settled)
	}
	in.mu.Unlock()
}

// cors lets pages on an admitted origin read the answer (sendBeacon needs none of this).
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
