// Package segment is the relay's Segment-compatible HTTP tracking API: POST /v1/batch, /v1/track,
// /v1/identify, /v1/page, /v1/screen, /v1/group and /v1/alias with the Segment spec's JSON, so
// Segment's own server libraries (and the many that speak the same spec) send to Beacon when
// their host is set to the relay (docs/protocol.md, "Segment-compatible API").
//
// It maps each message onto Beacon's own: track, page, screen and group become events that
// package protocol validates exactly as it validates the WebSocket's (same limits, same ts rules,
// same codes); identify is beacon.identify; alias is beacon.segment_alias. Like POST /v1/events it
// answers only after every event is committed, within the commit timeout, or 503.
package segment

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
)

// Store is what the API needs from the database (store.Store).
type Store interface {
	// WriteKeyProject resolves a write key; ok is false for an unknown or revoked one.
	WriteKeyProject(ctx context.Context, key string) (project uuid.UUID, ok bool, err error)
	// IdentifyVerified stores an identify whose sender proved itself (by its write key).
	IdentifyVerified(ctx context.Context, project uuid.UUID, anonID, userID string, traits []byte) error
	// Alias records previousID → userID (beacon.segment_alias).
	Alias(ctx context.Context, project uuid.UUID, previousID, userID string) (string, error)
}

// Observer counts what the API does, for /metrics (metrics.Metrics).
type Observer interface {
	SegmentMessage(typ string)         // a message handled, by Segment type ("invalid" when unreadable)
	SegmentMessageRefused(code string) // a message refused, by error code
	SegmentRequestRefused(code string) // a whole request refused (401, 400, 503), by code
	TSReplaced(reason string)          // an event's implausible time replaced (as ws.Observer)
}

// Error codes of the Segment-compatible API beyond the protocol's (docs/protocol.md).
const (
	CodeBadWriteKey     = "bad_write_key"     // 401: no write key, or one that is unknown or revoked
	CodeBatchTooLarge   = "batch_too_large"   // 400: the body (inflated) is over the batch limit
	CodeMessageTooLarge = "message_too_large" // a message over the per-message limit (32 KiB)
	CodeBadEncoding     = "bad_encoding"      // 400: Content-Encoding other than gzip/identity, or a broken gzip stream
	CodeNotAllowed      = "not_allowed"       // the message's type does not belong on this endpoint
)

// Config sets the API's limits. Zero values take the defaults.
type Config struct {
	Limits        protocol.Limits
	CommitTimeout time.Duration // answer 503 when the events are not committed by then (COMMIT_TIMEOUT)
	Observer      Observer
}

// Handler serves the Segment-compatible endpoints.
type Handler struct {
	cfg     Config
	store   Store
	batcher *pgbatch.Batcher
	log     *slog.Logger
}

// New makes the API's handler.
func New(cfg Config, store Store, batcher *pgbatch.Batcher, log *slog.Logger) *Handler {
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = 10 * time.Second
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Handler{cfg: cfg, store: store, batcher: batcher, log: log}
}

// Routes registers the endpoints on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/batch", h.serve("", MaxBatchBytes))
	for _, t := range types {
		mux.HandleFunc("POST /v1/"+t, h.serve(t, MaxMessageBytes))
	}
}

// serve handles one endpoint: "" is /v1/batch, any other value the single message type it takes;
// limit bounds its body.
func (h *Handler) serve(single string, limit int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The write key is the user name of HTTP Basic auth (Segment's libraries send an empty
		// password), or writeKey in the body.
		key, _, hasBasic := r.BasicAuth()
		hasBasic = hasBasic && key != ""
		var project uuid.UUID
		if hasBasic && !h.authorize(w, r, key, &project) { // refuse a wrong key before reading the body
			return
		}
		body, be := readBody(w, r, limit)
		if be != nil {
			h.refuse(w, be.status, be.code, be.msg)
			return
		}
		req, be := split(body, single)
		if be != nil {
			h.refuse(w, be.status, be.code, be.msg)
			return
		}
		if !hasBasic && !h.authorize(w, r, req.WriteKey, &project) {
			return
		}
		req.project = project
		res, err := h.ingest(r.Context(), req)
		if err != nil {
			h.log.Warn("segment ingest", "error", err)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.cfg.CommitTimeout.Seconds()+0.5))))
			h.refuse(w, http.StatusServiceUnavailable, protocol.CodeUnavailable, "not all messages could be stored; re-send them later")
			return
		}
		status := http.StatusOK
		if single != "" && len(res.Errors) > 0 { // one message, refused: nothing was stored
			status = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(res)
	}
}

// authorize resolves key to its project, or answers 401.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, key string, project *uuid.UUID) bool {
	if key == "" {
		h.refuse(w, http.StatusUnauthorized, CodeBadWriteKey, "send the project's write key as the user name of HTTP Basic auth (or as writeKey in the body)")
		return false
	}
	p, ok, err := h.store.WriteKeyProject(r.Context(), key)
	if err != nil {
		h.log.Warn("segment write key", "error", err)
		w.Header().Set("Retry-After", "5")
		h.refuse(w, http.StatusServiceUnavailable, protocol.CodeUnavailable, "the database is unavailable; retry later")
		return false
	}
	if !ok {
		h.refuse(w, http.StatusUnauthorized, CodeBadWriteKey, "the write key is unknown or revoked")
		return false
	}
	*project = p
	return true
}

// refuse answers a request refused as a whole, and counts it.
func (h *Handler) refuse(w http.ResponseWriter, status int, code, msg string) {
	h.cfg.Observer.SegmentRequestRefused(code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="beacon"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error": code, "message": msg})
}

type nopObserver struct{}

func (nopObserver) SegmentMessage(string)        {}
func (nopObserver) SegmentMessageRefused(string) {}
func (nopObserver) SegmentRequestRefused(string) {}
func (nopObserver) TSReplaced(string)            {}
