package segment

import (
	"net/http"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// request is a body split into its messages, with what applies to all of them: a /v1/batch body
// as sent ({"batch":[…],"sentAt":…,"context":…}), a single message as the batch of one.
type request struct {
	Batch    []jsontext.Value `json:"batch"`
	SentAt   string           `json:"sentAt"`
	Context  jsontext.Value   `json:"context"`
	WriteKey string           `json:"writeKey"`

	single   string    // the endpoint's one type; "" for /v1/batch
	project  uuid.UUID // the write key's
	received time.Time // the time every message is judged by
}

// split reads a body: one message for a single-type endpoint, a {"batch":[…]} envelope for
// /v1/batch. Repeated keys and invalid UTF-8 inside a message are let through here and refused by
// decodeMessage, for that message only; a body that is no JSON object is refused whole.
func split(body []byte, single string) (*request, *bodyError) {
	req := &request{single: single}
	if single != "" {
		var m struct {
			SentAt   string `json:"sentAt"`
			WriteKey string `json:"writeKey"`
		}
		if json.Unmarshal(body, &m, lax) != nil || jsontext.Value(body).Kind() != '{' {
			return nil, &bodyError{http.StatusBadRequest, "bad_json", "the body must be a JSON object"}
		}
		req.Batch, req.SentAt, req.WriteKey = []jsontext.Value{body}, m.SentAt, m.WriteKey
		return req, nil
	}
	if json.Unmarshal(body, req, lax) != nil || jsontext.Value(body).Kind() != '{' {
		return nil, &bodyError{http.StatusBadRequest, "bad_json", `the body must be a JSON object {"batch":[…messages]}`}
	}
	for i := 0; req.WriteKey == "" && i < len(req.Batch); i++ {
		var m struct {
			WriteKey string `json:"writeKey"`
		}
		_ = json.Unmarshal(req.Batch[i], &m, lax)
		req.WriteKey = m.WriteKey
	}
	return req, nil
}

// lax lets repeated keys and invalid UTF-8 through, for decodeMessage to refuse.
var lax = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
