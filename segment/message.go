package segment

import (
	"errors"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/beacon-analytics/beacon/protocol"
)

// message is one message of the Segment spec (https://segment.com/docs/connections/spec/): the
// common fields and those of each type. Unknown fields (integrations, channel, _metadata, …) are
// ignored; known ones match their names exactly, as everywhere in Beacon (protocol.Decode).
type message struct {
	Type              string         `json:"type"`
	MessageID         string         `json:"messageId"`
	AnonymousID       string         `json:"anonymousId"`
	UserID            string         `json:"userId"`
	Timestamp         string         `json:"timestamp"`
	OriginalTimestamp string         `json:"originalTimestamp"`
	SentAt            string         `json:"sentAt"`
	Context           jsontext.Value `json:"context"`
	Properties        jsontext.Value `json:"properties"`
	Traits            jsontext.Value `json:"traits"`
	Event             string         `json:"event"`      // track
	Name              string         `json:"name"`       // page, screen
	Category          string         `json:"category"`   // page
	GroupID           string         `json:"groupId"`    // group
	PreviousID        string         `json:"previousId"` // alias
	WriteKey          string         `json:"writeKey"`
}

// Segment message types.
const (
	typeTrack    = "track"
	typePage     = "page"
	typeScreen   = "screen"
	typeIdentify = "identify"
	typeGroup    = "group"
	typeAlias    = "alias"
)

// types are the Segment message types, each with its endpoint /v1/TYPE.
var types = []string{typeTrack, typeIdentify, typePage, typeScreen, typeGroup, typeAlias}

// decodeMessage parses one message as strictly as protocol.Decode parses the WebSocket's: an
// object, valid UTF-8, no key repeated at any depth, each known field of its JSON type; and within
// the per-message limit.
func decodeMessage(raw []byte) (message, *protocol.Error) {
	var m message
	if len(raw) > MaxMessageBytes {
		return m, protocol.NewError(CodeMessageTooLarge, "the message is larger than the limit of "+strconv.Itoa(MaxMessageBytes)+" bytes (32 KiB)")
	}
	if jsontext.Value(raw).Kind() != '{' {
		return m, protocol.NewError(protocol.CodeBadJSON, "a message must be a JSON object")
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return message{}, decodeError(err)
	}
	return m, nil
}

// decodeError answers a decoder error with the protocol's codes.
func decodeError(err error) *protocol.Error {
	if sem, ok := errors.AsType[*json.SemanticError](err); ok {
		return protocol.NewError(protocol.CodeBadMessage, "field "+string(sem.JSONPointer)+" has the wrong JSON type")
	}
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return protocol.NewError(protocol.CodeDuplicateKey, "a JSON object repeats a key")
	}
	return protocol.NewError(protocol.CodeBadJSON, "not valid JSON (or not valid UTF-8)")
}
