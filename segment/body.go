package segment

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Limits of the Segment spec (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#max-request-size):
// 32 KB per message, 500 KB per batch. Beacon counts them in KiB, a little above what Segment's
// libraries cut at (analytics-go: 32,000 and 500,000 bytes), so a library's full batch fits.
const (
	MaxMessageBytes = 32 << 10
	MaxBatchBytes   = 500 << 10
)

// bodyError is a request refused as a whole, before any message is handled.
type bodyError struct {
	status int
	code   string
	msg    string
}

// readBody reads at most limit bytes of the request's body, inflating it when it is sent with
// Content-Encoding: gzip. Both the bytes on the wire and the inflated bytes are bounded by limit,
// and inflating stops at limit+1 bytes: a gzip bomb costs at most that much memory and time.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *bodyError) {
	tooLarge := &bodyError{http.StatusBadRequest, CodeBatchTooLarge,
		"the body is larger than the limit of " + strconv.FormatInt(limit, 10) + " bytes (" + strconv.FormatInt(limit>>10, 10) + " KiB, inflated); send fewer messages per request"}
	// A gzip stream of a body within the limit is never much longer than the body itself.
	var in io.Reader = http.MaxBytesReader(w, r.Body, limit+1024)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, wireError(err, tooLarge)
		}
		defer zr.Close()
		in = zr
	default:
		return nil, &bodyError{http.StatusUnsupportedMediaType, CodeBadEncoding, "Content-Encoding " + strconv.Quote(enc) + " is not supported: send gzip or none"}
	}
	body, err := io.ReadAll(io.LimitReader(in, limit+1))
	if err != nil {
		return nil, wireError(err, tooLarge)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// wireError tells a body over the wire limit from one that could not be read or inflated.
func wireError(err error, tooLarge *bodyError) *bodyError {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &bodyError{http.StatusBadRequest, CodeBadEncoding, "the body is not a valid gzip stream"}
	}
	return &bodyError{http.StatusBadRequest, "bad_body", "the body could not be read"}
}
