package segment

// Error codes of the Segment-compatible API beyond the protocol's (docs/protocol.md).
const (
	CodeBadWriteKey     = "bad_write_key"     // 401: no write key, or one that is unknown or revoked
	CodeBatchTooLarge   = "batch_too_large"   // 400: the body (inflated) is over the batch limit
	CodeMessageTooLarge = "message_too_large" // a message over the per-message limit (32 KiB)
	CodeBadEncoding     = "bad_encoding"      // 400: Content-Encoding other than gzip/identity, or a broken gzip stream
	CodeNotAllowed      = "not_allowed"       // the message's type does not belong on this endpoint
)
