package segment

import (
	"net/http"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// request is a body split into its messages, with what applies to all of them.
type request struct {
	single   string // the endpoint's one type; "" for /v1/batch
	msgs     []jsontext.Value
	sentAt   string
	context  jsontext.Value
	writeKey string
}

// split reads a body: one message for a single-type endpoint, a {"batch":[…]} envelope for
// /v1/batch. Repeated keys and invalid UTF-8 inside a message are let through here and refused by
// decodeMessage, for that message only; a body that is no JSON object is refused whole.
func split(body []byte, single string) (*request, *bodyError) {
	notObject := &bodyError{http.StatusBadRequest, "bad_json", "the body must be a JSON object"}
	req := &request{single: single}
	if single != "" {
		var m struct {
			SentAt   string `json:"sentAt"`
			WriteKey string `json:"writeKey"`
		}
		if json.Unmarshal(body, &m, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil || !isObject(body) {
			return nil, notObject
		}
		req.msgs, req.sentAt, req.writeKey = []jsontext.Value{body}, m.SentAt, m.WriteKey
		return req, nil
	}
	var env envelope
	if json.Unmarshal(body, &env, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil || !isObject(body) {
		return nil, &bodyError{http.StatusBadRequest, "bad_json", `the body must be a JSON object {"batch":[…messages]}`}
	}
	req.msgs, req.sentAt, req.context, req.writeKey = env.Batch, env.SentAt, env.Context, env.WriteKey
	for i := 0; req.writeKey == "" && i < len(req.msgs); i++ {
		var m struct {
			WriteKey string `json:"writeKey"`
		}
		_ = json.Unmarshal(req.msgs[i], &m, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
		req.writeKey = m.WriteKey
	}
	return req, nil
}

// isObject reports whether body's first non-space byte opens an object.
func isObject(body []byte) bool {
	for _, b := range body {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b == '{'
	}
	return false
}
