package ws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
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
// the error reply can name the message. It answers as json.Unmarshal into Message did (the same
// accepted frames, values and error codes; FuzzDecodeDiff holds it to that) in one pass: the frame
// is validated while the known fields are read, and the rest is only scanned.
//
// The returned strings and raw fields may share memory with frame: a caller that keeps one beyond
// the frame's life must copy it (toEvent and identify do).
func Decode(frame []byte) (Message, *ProtocolError) {
	var m Message
	frame = bytes.TrimSpace(frame)
	if len(frame) == 0 || frame[0] != '{' {
		return m, perr(CodeBadJSON, "message must be a JSON object")
	}
	var typeErr *ProtocolError
	i := skipSpace(frame, 1)
	if i < len(frame) && frame[i] == '}' {
		i++
	} else {
		for {
			if i >= len(frame) || frame[i] != '"' {
				return Message{}, badJSON()
			}
			end, slow := scanString(frame, i)
			if end < 0 {
				return Message{}, badJSON()
			}
			key, f := frame[i:end], field(frame[i:end], slow)
			i = skipSpace(frame, end)
			if i >= len(frame) || frame[i] != ':' {
				return Message{}, badJSON()
			}
			if i = skipSpace(frame, i+1); i >= len(frame) {
				return Message{}, badJSON()
			}
			end, wrong := m.set(f, frame, i)
			if end < 0 {
				return Message{}, badJSON()
			}
			if wrong && typeErr == nil {
				typeErr = wrongType(f, unquote(key, slow))
			}
			if i = skipSpace(frame, end); i >= len(frame) {
				return Message{}, badJSON()
			}
			if frame[i] == '}' {
				i++
				break
			}
			if frame[i] != ',' {
				return Message{}, badJSON()
			}
			i = skipSpace(frame, i+1)
		}
	}
	if i != len(frame) {
		return Message{}, badJSON()
	}
	if typeErr != nil {
		return m, typeErr
	}
	return m, nil
}

func badJSON() *ProtocolError { return perr(CodeBadJSON, "message is not valid JSON") }

// Message's fields as Decode numbers them.
const (
	fieldUnknown = iota
	fieldType
	fieldEvent
	fieldProps
	fieldTS
	fieldID
	fieldSeq
	fieldUserID
	fieldTraits
)

var fieldNames = [...]string{fieldType: "type", fieldEvent: "event", fieldProps: "props", fieldTS: "ts",
	fieldID: "id", fieldSeq: "seq", fieldUserID: "userId", fieldTraits: "traits"}

// field names the Message field a quoted key sets. Like encoding/json it matches names exactly
// first, then case-insensitively with Unicode simple folding (so "USERID" and "\u017feq" count).
func field(quoted []byte, slow bool) int {
	key := quoted[1 : len(quoted)-1]
	switch string(key) {
	case "type":
		return fieldType
	case "event":
		return fieldEvent
	case "props":
		return fieldProps
	case "ts":
		return fieldTS
	case "id":
		return fieldID
	case "seq":
		return fieldSeq
	case "userId":
		return fieldUserID
	case "traits":
		return fieldTraits
	}
	key = unquote(quoted, slow)
	for f := fieldType; f <= fieldTraits; f++ {
		if bytes.EqualFold(key, []byte(fieldNames[f])) {
			return f
		}
	}
	return fieldUnknown
}

// set reads the value at frame[i] into field f and returns the index after it, or -1 when the
// frame is not valid JSON. A value of the wrong JSON type leaves the field as it was (wrong is
// true), as json.Unmarshal's UnmarshalTypeError did.
func (m *Message) set(f int, frame []byte, i int) (end int, wrong bool) {
	var raw *json.RawMessage
	switch f {
	case fieldProps:
		raw = &m.Props
	case fieldTS:
		raw = &m.TS
	case fieldTraits:
		raw = &m.Traits
	case fieldUnknown:
		return scanValue(frame, i, 1), false
	}
	if raw != nil {
		end = scanValue(frame, i, 1)
		if end >= 0 {
			*raw = frame[i:end:end]
		}
		return end, false
	}
	c := frame[i]
	if f == fieldSeq {
		if c == '-' || '0' <= c && c <= '9' {
			end = scanNumber(frame, i)
			if end < 0 {
				return -1, false
			}
			n, ok := parseUint(frame[i:end])
			if ok {
				m.Seq = n
			}
			return end, !ok
		}
	} else if c == '"' {
		end, slow := scanString(frame, i)
		if end < 0 {
			return -1, false
		}
		s := unquote(frame[i:end], slow)
		switch f {
		case fieldType:
			m.Type = messageTypeName(s)
		case fieldEvent:
			m.Event = bytesString(s)
		case fieldID:
			m.ID = bytesString(s)
		case fieldUserID:
			m.UserID = bytesString(s)
		}
		return end, false
	}
	if c == 'n' {
		return scanLiteral(frame, i, "null"), false // null leaves a string or number as it was
	}
	return scanValue(frame, i, 1), true
}

// wrongType is the error for a value of the wrong JSON type under key (as sent: json.Unmarshal
// named the field by the key's JSON pointer).
func wrongType(f int, key []byte) *ProtocolError {
	kind := "string"
	if f == fieldSeq {
		kind = "non-negative integer"
	}
	return perr(CodeBadMessage, "field "+string(key)+" must be a JSON "+kind)
}

// messageTypeName returns the known types as constants (no copy of the frame kept, no allocation).
func messageTypeName(s []byte) string {
	switch string(s) {
	case "event":
		return "event"
	case "identify":
		return "identify"
	case "ping":
		return "ping"
	}
	return string(s)
}

// parseUint reads a JSON number as a uint64 the way json.Unmarshal did: digits only, no
// overflow.
func parseUint(b []byte) (uint64, bool) {
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, len(b) > 0
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

// emptyObject is what absent or null props and traits store; shared, never written to.
var emptyObject = []byte("{}")

// CheckObject validates props or traits: absent or null means {}, anything else must be a JSON
// object within the size limit. It returns the JSON to store.
func (l Limits) CheckObject(raw json.RawMessage, code, field string) ([]byte, *ProtocolError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return emptyObject, nil
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
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false // the ASCII control characters
		} else if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return true
	}
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
	ms, ok := parseNumber(raw)
	if !ok || math.IsNaN(ms) || ms < 0 || ms > 1e15 {
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

// parseNumber reads a JSON number as json.Unmarshal into a float64 did: anything else, or a number
// out of float64's range, is not one.
func parseNumber(raw []byte) (float64, bool) {
	if len(raw) == 0 || scanNumber(raw, 0) != len(raw) {
		return 0, false
	}
	if len(raw) <= 15 { // the usual epoch milliseconds: an integer a float64 holds exactly
		if n, ok := parseUint(raw); ok {
			return float64(n), true
		}
	}
	f, err := strconv.ParseFloat(bytesString(raw), 64)
	return f, err == nil
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
