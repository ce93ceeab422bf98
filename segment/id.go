package segment

import (
	"crypto/sha256"

	"github.com/google/uuid"
)

// idNamespace separates these ids from any other name-based id Beacon might make.
const idNamespace = "beacon/segment/messageId\x00"

// EventID maps a Segment messageId to the event id it is stored under: the same project and
// messageId always give the same id, so a library's re-send of a message is recognised as the
// same event (docs/protocol.md, "Duplicates"). messageIds are often not UUIDs ("ajs-…", "node-…").
//
// The id is a name-based UUID of version 8 (RFC 9562 §5.8) made from SHA-256 of the project and
// the messageId, not the SHA-1-based version 5: the relay runs with GODEBUG=fips140=only, where
// crypto/sha1 panics, and SHA-256 is FIPS 140-3 approved (TestEventIDUnderFIPSOnly).
func EventID(project uuid.UUID, messageID string) uuid.UUID {
	sum := sha256.Sum256([]byte(idNamespace + string(project[:]) + messageID))
	id := uuid.UUID(sum[:16])
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id
}
