package segment_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/segment"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func track(id string) map[string]any {
	return map[string]any{"type": "track", "event": "e", "userId": "u", "messageId": id}
}

// TestPartialBatch: the valid messages of a batch are stored, the others named in its 200 answer
// with their index, messageId and reason, and counted.
func TestPartialBatch(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	big := track("big")
	big["properties"] = map[string]any{"x": strings.Repeat("y", segment.MaxMessageBytes)}
	batch := []any{
		track("ok-1"),
		map[string]any{"type": "track", "userId": "u", "messageId": "no-name"},
		map[string]any{"type": "track", "event": "e", "messageId": "no-ids"},
		map[string]any{"type": "launch", "userId": "u", "messageId": "bad-type"},
		big,
		map[string]any{"type": "identify", "anonymousId": "a", "messageId": "anon-identify"},
		map[string]any{"type": "track", "event": "e", "userId": "u", "messageId": "bad-ts", "timestamp": "yesterday"},
		track("ok-2"),
	}
	a := s.postJSON(t, "/v1/batch", map[string]any{"batch": batch})
	if a.Status != 200 || !a.Success || a.Accepted != 2 {
		t.Fatalf("%+v", a)
	}
	want := map[int]string{1: "bad_event", 2: "bad_user_id", 3: "unknown_type", 4: segment.CodeMessageTooLarge, 5: "bad_user_id", 6: "bad_ts"}
	for _, e := range a.Errors {
		if want[e.Index] != e.Code || e.Message == "" {
			t.Errorf("error %+v, want code %q", e, want[e.Index])
		}
		delete(want, e.Index)
	}
	if len(want) > 0 {
		t.Errorf("not refused: %v", want)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, s.project); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
	if s.obs.get("refused:bad_event") != 1 || s.obs.get("refused:"+segment.CodeMessageTooLarge) != 1 {
		t.Errorf("refusals not counted: %v", s.obs.m)
	}
	// A single-message endpoint answers a refused message with 400 and stores nothing.
	if a := s.postJSON(t, "/v1/track", map[string]any{"userId": "u"}); a.Status != 400 || a.Errors[0].Code != "bad_event" {
		t.Errorf("single refused: %+v", a)
	}
	if a := s.postJSON(t, "/v1/track", map[string]any{"type": "page", "userId": "u"}); a.Status != 400 || a.Errors[0].Code != segment.CodeNotAllowed {
		t.Errorf("page on /v1/track: %+v", a)
	}
}

// TestBodyLimits: an over-limit batch is a 400 naming the limit, gzip bodies are inflated, and
// a gzip bomb is refused after inflating no more than the limit.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	// Just over 500 KiB of valid messages.
	var batch []any
	for i := 0; i < 2000; i++ {
		m := track(fmt.Sprintf("m%d", i))
		m["properties"] = map[string]any{"pad": strings.Repeat("p", 250)}
		batch = append(batch, m)
	}
	body, _ := json.Marshal(map[string]any{"batch": batch})
	if len(body) <= segment.MaxBatchBytes {
		t.Fatalf("body of %d bytes is not over the limit", len(body))
	}
	a := s.post(t, "/v1/batch", body, s.key)
	if a.Status != 400 || a.Error != segment.CodeBatchTooLarge || !strings.Contains(a.Message, "512000 bytes") {
		t.Errorf("over-limit batch: %+v", a)
	}
	a = s.post(t, "/v1/batch", gz(t, body), s.key, "Content-Encoding", "gzip")
	if a.Status != 400 || a.Error != segment.CodeBatchTooLarge {
		t.Errorf("over-limit batch, gzipped (%d bytes on the wire): %+v", len(gz(t, body)), a)
	}
	// One message over 32 KiB on its own endpoint.
	big := track("big")
	big["properties"] = map[string]any{"x": strings.Repeat("y", segment.MaxMessageBytes)}
	bb, _ := json.Marshal(big)
	if a := s.post(t, "/v1/track", bb, s.key); a.Status != 400 || a.Error != segment.CodeBatchTooLarge || !strings.Contains(a.Message, "32768") {
		t.Errorf("over-limit message: %+v", a)
	}
	// A batch within the limit, gzipped.
	small, _ := json.Marshal(map[string]any{"batch": batch[:100]})
	if a := s.post(t, "/v1/batch", gz(t, small), s.key, "Content-Encoding", "gzip"); a.Status != 200 || a.Accepted != 100 {
		t.Errorf("gzip batch: %+v", a)
	}
	// A bomb: 1 GiB of spaces in ~1 MB would be too long on the wire; 100 MiB is ~100 KB gzipped.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write([]byte(`{"batch":[`))
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range 100 {
		_, _ = zw.Write(chunk)
	}
	_ = zw.Close()
	start := time.Now()
	a = s.post(t, "/v1/batch", bomb.Bytes(), s.key, "Content-Encoding", "gzip")
	if a.Status != 400 || a.Error != segment.CodeBatchTooLarge {
		t.Errorf("gzip bomb of %d bytes: %+v", bomb.Len(), a)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gzip bomb took %v: inflated whole?", d)
	}
	if a := s.post(t, "/v1/batch", []byte("not gzip"), s.key, "Content-Encoding", "gzip"); a.Status != 400 || a.Error != segment.CodeBadEncoding {
		t.Errorf("broken gzip: %+v", a)
	}
	if a := s.post(t, "/v1/batch", small, s.key, "Content-Encoding", "br"); a.Status != 415 {
		t.Errorf("brotli: %+v", a)
	}
	if s.obs.get("request:"+segment.CodeBatchTooLarge) < 3 {
		t.Errorf("request refusals not counted: %v", s.obs.m)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1`, s.project); n != 100 {
		t.Errorf("%d events stored, want the gzipped batch's 100", n)
	}
}

// TestWriteKeys: no key, a wrong key, another project's revoked key get 401; the key in the body
// (writeKey) works; revocation is immediate.
func TestWriteKeys(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	body, _ := json.Marshal(map[string]any{"batch": []any{track("k1")}})
	for name, key := range map[string]string{"none": "", "wrong": "bwk_nope"} {
		if a := s.post(t, "/v1/batch", body, key); a.Status != 401 || a.Error != segment.CodeBadWriteKey {
			t.Errorf("%s key: %+v", name, a)
		}
	}
	inBody, _ := json.Marshal(map[string]any{"writeKey": s.key, "batch": []any{track("k2")}})
	if a := s.post(t, "/v1/batch", inBody, ""); a.Status != 200 || a.Accepted != 1 {
		t.Errorf("writeKey in the body: %+v", a)
	}
	single, _ := json.Marshal(map[string]any{"writeKey": s.key, "userId": "u", "event": "e"})
	if a := s.post(t, "/v1/track", single, ""); a.Status != 200 {
		t.Errorf("writeKey in a single message: %+v", a)
	}
	// Another project's key stores in that project.
	other := s.newProject(t)
	key2, id2 := s.newKey(t, other)
	if a := s.post(t, "/v1/batch", body, key2); a.Status != 200 {
		t.Fatalf("%+v", a)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events WHERE project_id = $1 AND event_id = $2`, other, segment.EventID(other, "k1")); n != 1 {
		t.Error("event not in the key's project")
	}
	var revoked bool
	if err := s.db.Pool.QueryRow(t.Context(), `SELECT beacon.revoke_write_key($1)`, id2).Scan(&revoked); err != nil || !revoked {
		t.Fatal(err, revoked)
	}
	if a := s.post(t, "/v1/batch", body, key2); a.Status != 401 {
		t.Errorf("revoked key: %+v", a)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.audit WHERE action IN ('writekey_created', 'writekey_revoked') AND target LIKE 'project:' || $1 || '/writekey:%'`, other.String()); n != 2 {
		t.Errorf("audit rows of the key: %d, want created and revoked", n)
	}
	if got := s.text(t, `SELECT (last_used_at IS NOT NULL)::text FROM beacon.write_keys WHERE key_id = $1`, s.keyID); got != "true" {
		t.Error("last use not recorded")
	}
	if s.obs.get("request:"+segment.CodeBadWriteKey) != 3 {
		t.Errorf("401s counted: %v", s.obs.m)
	}
}

// TestEventIDUnderFIPSOnly: messageId → event id is deterministic per project, a version 8 UUID,
// and made with SHA-256 — the suite also runs with GODEBUG=fips140=only, where the SHA-1 of a
// version 5 UUID panics.
func TestEventIDUnderFIPSOnly(t *testing.T) {
	t.Parallel()
	p1, p2 := uuid.New(), uuid.New()
	a, b := segment.EventID(p1, "ajs-next-1"), segment.EventID(p1, "ajs-next-1")
	if a != b || a == segment.EventID(p2, "ajs-next-1") || a == segment.EventID(p1, "ajs-next-2") {
		t.Error("not one id per project and messageId")
	}
	if a.Version() != 8 || a.Variant() != uuid.RFC4122 {
		t.Errorf("%s: version %d variant %v", a, a.Version(), a.Variant())
	}
}
