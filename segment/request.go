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
	Batch   []jsontext.Value `json:"batch"`
	Context jsontext.Value   `json:"context"`
	shared

	single   string    // the endpoint's one type; "" for /v1/batch
	project  uuid.UUID // the write key's
	received time.Time
}

// shared are the fields a single message and a batch both carry for the whole request.
type shared struct {
	SentAt   string `json:"sentAt"`
	WriteKey string `json:"writeKey"`
}

// split reads a body: one message for a single-type endpoint, a {"batch":[…]} envelope for
// /v1/batch. Repeated keys and invalid UTF-8 inside a message are let through here and refused by
// decodeMessage, for that message only; a body that is no JSON object is refused whole.
func split(body []byte, single string) (*request, *bodyError) {
	req := &request{single: single}
	if single != "" {
		req.Batch = []jsontext.Value{body}
		if json.Unmarshal(body, &req.shared, lax) != nil || jsontext.Value(body).Kind() != '{' {
			return nil, &bodyError{http.StatusBadRequest, "bad_json", "the body must be a JSON object"}
		}
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
