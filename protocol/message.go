package protocol

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Message is one client → server message (docs/protocol.md). Unknown fields are ignored so newer
// clients keep working against older relays; known ones match their names exactly.
type Message struct {
	Type   string         `json:"type"`
	Event  string         `json:"event"`
	Props  jsontext.Value `json:"props"`
	TS     jsontext.Value `json:"ts"`
	ID     string         `json:"id"`
	Seq    uint64         `json:"seq"`
	UserID string         `json:"userId"`
	Traits jsontext.Value `json:"traits"`
	// UserHash proves an identify's userId: hex HMAC-SHA-256 of userId keyed with the project's
	// identity secret, computed by the customer's server. Required when the project verifies
	// identities (docs/protocol.md, "Trust model"); ignored otherwise.
	UserHash string `json:"userHash"`
}

// Message types.
const (
	TypeEvent    = "event"
	TypeIdentify = "identify"
	TypePing     = "ping"
)

// Decode parses one message strictly: a JSON object with case-sensitive keys, valid UTF-8 (no
// lone surrogate escapes), no duplicate keys at any depth and no trailing data. The result owns
// its memory: nothing in it refers to frame, so a caller may reuse frame at once.
//
// On a field of the wrong type the returned Message still carries Seq when it could be read, so
// the error reply can name the message.
func Decode(frame []byte) (Message, *Error) {
	var m Message
	if jsontext.Value(frame).Kind() != '{' { // the first non-space byte
		return m, NewError(CodeBadJSON, "message must be a JSON object")
	}
	err := json.Unmarshal(frame, &m)
	if err == nil {
		return m, nil
	}
	var sem *json.SemanticError
	if !errors.As(err, &sem) {
		return Message{}, syntaxError(err)
	}
	// The decoder stops at the first wrong field; the message is valid JSON, so seq (unless it
	// is the wrong field) can still be read on its own.
	var s struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal(frame, &s) == nil {
		m.Seq = s.Seq
	}
	return Message{Seq: m.Seq}, wrongType(sem)
}

// syntaxError maps a decoder's syntax error to the client's answer.
func syntaxError(err error) *Error {
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return NewError(CodeDuplicateKey, "a JSON object repeats a key")
	}
	return NewError(CodeBadJSON, "message is not valid JSON (or not valid UTF-8)")
}

// wrongType names the field whose value has the wrong JSON type.
func wrongType(sem *json.SemanticError) *Error {
	field := string(sem.JSONPointer)
	kind := "string"
	if field == "/seq" {
		kind = "non-negative integer"
	}
	return NewError(CodeBadMessage, "field "+field+" must be a JSON "+kind)
}
