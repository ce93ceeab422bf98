package ws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Message is one client → server message (DESIGN.md "Wire protocol"). Unknown fields are ignored
// so newer clients keep working against older relays.
type Message struct {
	Type   string          `json:"type"`
	Event  string          `json:"event"`
	Props  json.RawMessage `json:"props"`
	TS     json.RawMessage `json:"ts"`
	ID     string          `json:"id"`
	Seq    uint64          `json:"seq"`
	UserID string          `json:"userId"`
	Traits json.RawMessage `json:"traits"`
}

// Error codes sent in {"type":"error"} replies and HTTP ingest results; docs/protocol.md lists them.
const (
	CodeBadJSON       = "bad_json"        // the frame is not a JSON object
	CodeBadMessage    = "bad_message"     // a field has the wrong JSON type
	CodeUnknownType   = "unknown_type"    // type is not event, identify or ping
	CodeBadEvent      = "bad_event"       // event name empty, too long or with control characters
	CodeBadProps      = "bad_props"       // props is not a JSON object
	CodePropsTooLarge = "props_too_large" // props over the size limit
	CodeBadTS         = "bad_ts"          // ts is not a non-negative number of epoch milliseconds
	CodeBadID         = "bad_id"          // id is not a UUID
	CodeBadUserID     = "bad_user_id"     // identify without a usable userId
	CodeBadTraits     = "bad_traits"      // traits is not a JSON object, or too large
	CodeRejected      = "rejected"        // PostgreSQL refused the row; re-sending cannot help
	CodeBinaryFrame   = "binary_frame"    // only text frames carry messages
	CodeUnavailable   = "unavailable"     // the database could not take the message now; re-send later
	CodeRateLimited   = "rate_limited"    // over the connection's or project's rate; re-send later
)

// ProtocolError is a message's rejection, answered to the sender with its seq.
type ProtocolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func perr(code, msg string) *ProtocolError { return &ProtocolError{Code: code, Message: msg} }

// Limits bound what a message may carry.
type Limits struct {
	MaxNameBytes  int           // event name length
	MaxPropsBytes int           // props and traits JSON size
	MaxIDBytes    int           // userId, session and anon id length
	MaxEventAge   time.Duration // older client times are replaced (see ResolveTS)
	MaxClockAhead time.Duration // client times further ahead are replaced
}

// Decode parses one frame. On a wrong field type it still returns what it read (notably Seq), so
// the error reply can name the message.
func Decode(frame []byte) (Message, *ProtocolError) {
	var m Message
	frame = bytes.TrimSpace(frame)
	if len(frame) == 0 || frame[0] != '{' {
		return m, perr(CodeBadJSON, "message must be a JSON object")
	}
	if err := json.Unmarshal(frame, &m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return m, perr(CodeBadMessage, "field "+typeErr.Field+" must be a JSON "+jsonKind(typeErr.Type.Kind().String()))
		}
		return m, perr(CodeBadJSON, "message is not valid JSON")
	}
	return m, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "uint64", "int", "int64", "float64":
		return "non-negative integer"
	default:
		return "value of another type"
	}
}

// CheckName validates an event name.
func (l Limits) CheckName(name string) *ProtocolError {
	if name == "" {
		return perr(CodeBadEvent, "event name must not be empty")
	}
	if len(name) > l.MaxNameBytes {
		return perr(CodeBadEvent, "event name longer than the limit")
	}
	if !printable(name) {
		return perr(CodeBadEvent, "event name must be UTF-8 text without control characters")
	}
	return nil
}

// CheckObject validates props or traits: absent or null means {}, anything else must be a JSON
// object within the size limit. It returns the JSON to store.
func (l Limits) CheckObject(raw json.RawMessage, code, field string) ([]byte, *ProtocolError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("{}"), nil
	}
	if raw[0] != '{' {
		return nil, perr(code, field+" must be a JSON object")
	}
	if len(raw) > l.MaxPropsBytes {
		tooLarge := code
		if code == CodeBadProps {
			tooLarge = CodePropsTooLarge
		}
		return nil, perr(tooLarge, field+" larger than the limit")
	}
	return raw, nil
}

// CheckText validates an id-like string from the client (userId, session, anon).
func (l Limits) CheckText(s string) bool {
	return len(s) <= l.MaxIDBytes && printable(s)
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// EventID returns the client's id, or a new UUIDv7 when it sent none.
func EventID(id string) (uuid.UUID, *ProtocolError) {
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return uuid.UUID{}, perr(CodeUnavailable, "cannot make an event id: "+err.Error())
		}
		return u, nil
	}
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return uuid.UUID{}, perr(CodeBadID, "id must be a UUID in its 36-character form")
	}
	return u, nil
}

// ResolveTS applies the documented time rule. ts must be a non-negative number of epoch
// milliseconds (fractions dropped); missing or null means received. A time older than
// MaxEventAge or more than MaxClockAhead ahead of received is a broken clock: it is replaced by the
// time inside the event's UUIDv7 id when that one is plausible, else by received. Using the id's
// time keeps a re-sent event's ts, and so its dedup key, the same.
func (l Limits) ResolveTS(raw json.RawMessage, id uuid.UUID, received time.Time) (time.Time, *ProtocolError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		if t, ok := l.idTime(id, received); ok {
			return t, nil
		}
		return received, nil
	}
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil || math.IsNaN(ms) || ms < 0 || ms > 1e15 {
		return time.Time{}, perr(CodeBadTS, "ts must be epoch milliseconds (a non-negative number)")
	}
	t := time.UnixMilli(int64(ms)).UTC()
	if l.plausible(t, received) {
		return t, nil
	}
	if t, ok := l.idTime(id, received); ok {
		return t, nil
	}
	return received, nil
}

func (l Limits) plausible(t, received time.Time) bool {
	return !t.Before(received.Add(-l.MaxEventAge)) && !t.After(received.Add(l.MaxClockAhead))
}

// idTime reads the millisecond timestamp in the first 48 bits of a UUIDv7.
func (l Limits) idTime(id uuid.UUID, received time.Time) (time.Time, bool) {
	if id.Version() != 7 {
		return time.Time{}, false
	}
	ms := int64(binary.BigEndian.Uint64(id[:8]) >> 16)
	t := time.UnixMilli(ms).UTC()
	return t, l.plausible(t, received)
}
