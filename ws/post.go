package ws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxPostMessages bounds the messages of one POST /v1/events.
const maxPostMessages = 1000

// postTimeout bounds how long a POST waits for its events to commit.
const postTimeout = 30 * time.Second

// postResult answers a POST /v1/events: how many messages were taken, and why each other one was
// not (index into the posted array).
type postResult struct {
	Accepted int         `json:"accepted"`
	Errors   []postError `json:"errors"`
}

type postError struct {
	Index int `json:"index"`
	ProtocolError
}

// Ingest serves POST /v1/events?project=…&session=…&anon=…: a JSON array of the WebSocket's
// messages (Content-Type application/json or text/plain, as navigator.sendBeacon sends). It
// answers after every event is committed.
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
		s.refuse(w, &refusal{http.StatusServiceUnavailable, CodeUnavailable, "not all messages could be stored; re-send them"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, *refusal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &refusal{http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than the limit"}
	}
	if err != nil {
		return nil, &refusal{http.StatusBadRequest, "bad_body", "the body could not be read"}
	}
	return parseBody(body)
}

// parseBody splits a body into its messages (sharing the body's memory). It accepts what
// json.Unmarshal into []json.RawMessage did: a JSON array, or null for none.
func parseBody(body []byte) ([]json.RawMessage, *refusal) {
	bad := &refusal{http.StatusBadRequest, CodeBadJSON, "the body must be a JSON array of messages"}
	i := skipSpace(body, 0)
	if i >= len(body) {
		return nil, bad
	}
	var msgs []json.RawMessage
	switch body[i] {
	case '[':
		msgs = []json.RawMessage{}
		i = skipSpace(body, i+1)
		if i < len(body) && body[i] == ']' {
			i++
			break
		}
		for {
			end := -1
			if i < len(body) {
				end = scanValue(body, i, 1)
			}
			if end < 0 {
				return nil, bad
			}
			msgs = append(msgs, body[i:end:end])
			if i = skipSpace(body, end); i >= len(body) {
				return nil, bad
			}
			if body[i] == ']' {
				i++
				break
			}
			if body[i] != ',' {
				return nil, bad
			}
			i = skipSpace(body, i+1)
		}
	case 'n':
		i = scanLiteral(body, i, "null")
	default:
		i = -1 // another JSON value, or none: either way not messages
	}
	if i < 0 || skipSpace(body, i) != len(body) {
		return nil, bad
	}
	if len(msgs) > maxPostMessages {
		return nil, &refusal{http.StatusRequestEntityTooLarge, "too_many_messages", "too many messages in one request"}
	}
	return msgs, nil
}

// ingest handles msgs in order (an identify names the user of the events after it) and waits for
// every event to commit.
func (s *Server) ingest(ctx context.Context, from *sender, msgs []json.RawMessage) (*postResult, error) {
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	res := &postResult{Errors: []postError{}}
	var mu sync.Mutex
	fail := func(i int, pe *ProtocolError) {
		s.obs.MessageRejected(pe.Code)
		mu.Lock()
		res.Errors = append(res.Errors, postError{Index: i, ProtocolError: *pe})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	var lost error // guarded by mu
	setLost := func(err error) {
		mu.Lock()
		lost = err
		mu.Unlock()
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lost != nil
	}
	for i, raw := range msgs {
		m, pe := Decode(raw)
		if pe == nil && m.Type == "event" && !s.perProj.allow(from.project) {
			pe = perr(CodeRateLimited, "the project's rate limit is exceeded; re-send this message later")
		}
		if pe == nil {
			s.obs.Message(messageType(m.Type))
		} else {
			s.obs.Message("invalid")
		}
		switch {
		case pe != nil:
			fail(i, pe)
		case m.Type == "event":
			ev, pe := s.toEvent(&m, from, time.Now())
			if pe != nil {
				fail(i, pe)
				continue
			}
			wg.Add(1)
			err := s.batcher.Add(ctx, ev, func(err error) {
				defer wg.Done()
				if pe := rowError(err); pe != nil {
					fail(i, pe)
				} else if err != nil {
					setLost(err)
				}
			})
			if err != nil {
				wg.Done()
				setLost(err)
			}
		case m.Type == "identify":
			pe, err := s.identify(ctx, &m, from)
			if err != nil {
				setLost(err)
			} else if pe != nil {
				fail(i, pe)
			}
		case m.Type == "ping":
		default:
			fail(i, perr(CodeUnknownType, "type must be event, identify or ping"))
		}
		if failed() {
			break
		}
	}
	wg.Wait()
	if failed() {
		return nil, lost
	}
	res.Accepted = len(msgs) - len(res.Errors)
	return res, nil
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
