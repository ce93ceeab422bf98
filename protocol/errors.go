package protocol

// Error codes sent in {"type":"error"} replies and HTTP ingest results. They are part of the
// protocol: docs/protocol.md lists them, and clients branch on them.
const (
	CodeBadJSON       = "bad_json"        // not a JSON object, not valid JSON or not valid UTF-8
	CodeDuplicateKey  = "duplicate_key"   // a JSON object repeats a key
	CodeBadMessage    = "bad_message"     // a field has the wrong JSON type
	CodeUnknownType   = "unknown_type"    // type is not event, identify or ping
	CodeBadEvent      = "bad_event"       // event name empty, too long or with control characters
	CodeBadProps      = "bad_props"       // props is not a JSON object, or holds \u0000
	CodePropsTooLarge = "props_too_large" // props over the size limit
	CodePropsTooDeep  = "props_too_deep"  // props nest deeper than the depth limit (32 levels)
	CodeBadTS         = "bad_ts"          // ts is not a non-negative number of epoch milliseconds
	CodeBadID         = "bad_id"          // id is not a UUID
	CodeBadSeq        = "bad_seq"         // seq not above the connection's previous one
	CodeBadUserID     = "bad_user_id"     // identify without a usable userId
	CodeBadTraits     = "bad_traits"      // traits is not a JSON object, too large, or holds \u0000
	CodeRejected      = "rejected"        // PostgreSQL refused the row (an event is kept in beacon.events_rejected and acked); re-sending cannot help
	CodeBinaryFrame   = "binary_frame"    // only text frames carry messages
	CodeUnavailable   = "unavailable"     // the database could not take the message now; re-send later
	CodeRateLimited   = "rate_limited"    // over the connection's or project's rate; re-send later

	CodeTooManyMessages  = "too_many_messages"   // an HTTP body with more than MaxBodyMessages
	CodeNumberOutOfRange = "number_out_of_range" // props or traits hold a number a double cannot (1e400, 1e-400)

	// The trust model's answers to identify (docs/protocol.md, "Trust model").
	CodeIdentityUnverified = "identity_unverified" // the project verifies identities and userHash is missing or wrong; nothing was written
	CodeTraitsTooLarge     = "traits_too_large"    // the user's stored traits would exceed the database's per-user bounds
)

// Error is a message's rejection, answered to its sender (with the message's seq on a WebSocket,
// its index over HTTP). The JSON form is the protocol's.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Warnings sent with a message that was taken, but not quite as sent ({"type":"warning"} on a
// WebSocket, "warnings" in an HTTP ingest answer). Clients may ignore them.
const (
	CodeTSReplaced = "ts_replaced" // the client's ts was implausible and replaced; the original is kept in sent_ts
)

// Warning is a note on a message that was taken: the same form as Error (one type, so each door
// answers both alike), answered with the message's seq on a WebSocket, its index over HTTP.
type Warning = Error

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError makes an Error; code is one of the Code constants.
func NewError(code, msg string) *Error { return &Error{Code: code, Message: msg} }
