package protocol

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxBodyMessages bounds the messages of one HTTP ingest body.
const MaxBodyMessages = 1000

// Body errors, answered as a whole (HTTP 400 / 413) before any message is handled.
var (
	ErrBodyNotArray    = NewError(CodeBadJSON, "the body must be a JSON array of messages")
	ErrTooManyMessages = NewError(CodeTooManyMessages, "too many messages in one request")
)

// SplitBody splits an HTTP ingest body, a JSON array of messages (null for none), into the
// messages, each still to be Decoded. Duplicate keys and invalid UTF-8 are let through here and
// refused by Decode, so they are answered for the message that holds them, not for the body.
func SplitBody(body []byte) ([]jsontext.Value, *Error) {
	var msgs []jsontext.Value
	err := json.Unmarshal(body, &msgs, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err != nil {
		return nil, ErrBodyNotArray
	}
	if len(msgs) > MaxBodyMessages {
		return nil, ErrTooManyMessages
	}
	return msgs, nil
}
