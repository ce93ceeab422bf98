package segment

import (
	"cmp"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/beacon-analytics/beacon/protocol"
)

// clientTime is when the message happened on its sender's clock, corrected for that clock's skew
// as the Segment spec does (https://segment.com/docs/connections/spec/common/#timestamp-overview):
//
//	timestamp = receivedAt - (sentAt - originalTimestamp)
//
// originalTimestamp is the message's originalTimestamp, else its timestamp (what server libraries
// send); sentAt the message's, else the batch's. Without sentAt there is nothing to correct with
// and the sender's time is kept; without either time the message has none (the relay's clock is
// used, protocol.ResolveTS). The result is the protocol's ts (epoch milliseconds), so the same
// plausibility rules apply to it as to any door's (too old or too far ahead: replaced, warned).
func clientTime(m *message, batchSentAt string, received time.Time) (jsontext.Value, *protocol.Error) {
	origText := cmp.Or(m.OriginalTimestamp, m.Timestamp)
	if origText == "" {
		return nil, nil
	}
	orig, ok := parseTime(origText)
	if !ok {
		return nil, protocol.NewError(protocol.CodeBadTS, "timestamp/originalTimestamp must be an ISO-8601 date and time")
	}
	sentText := cmp.Or(m.SentAt, batchSentAt)
	t := orig
	if sentText != "" {
		sent, ok := parseTime(sentText)
		if !ok {
			return nil, protocol.NewError(protocol.CodeBadTS, "sentAt must be an ISO-8601 date and time")
		}
		t = received.Add(-sent.Sub(orig))
	}
	ms := t.UnixMilli()
	if ms < 0 {
		return nil, protocol.NewError(protocol.CodeBadTS, "timestamp is before 1970")
	}
	return jsontext.Value(strconv.FormatInt(ms, 10)), nil
}

// timeLayouts are the ISO-8601 forms Segment's libraries send: RFC 3339 with any fraction
// (JavaScript's toISOString, Go's time.Time), and Python's isoformat without a zone (UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
