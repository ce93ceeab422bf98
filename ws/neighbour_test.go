package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/beacon-analytics/beacon/pgbatch"
	"github.com/beacon-analytics/beacon/protocol"
	"github.com/beacon-analytics/beacon/ws"
)

// maxSlowdown bounds B's ack p99 while A sends rows PostgreSQL refuses over its p99 while a
// third project sends the same traffic with every row good: the cost of the refusals themselves,
// the 2×. Against B alone (no other traffic at all) the bound is maxSlowdownAlone: on
// 2 shared cores four senders slow everyone, whatever their rows (quiet runs: 1.0–1.6×). Under
// the race detector (slowdownBound) both double: the relay's CPU per request grows 5–10× there
// while PostgreSQL's does not, so the senders' share of the cores is not production's.
const (
	maxSlowdown      = 2
	maxSlowdownAlone = 4
)

// TestRejectedRowsDoNotStallAnotherProject plays the noisy neighbour of issue 10 (item 2): four
// senders of project A post bodies alternating a good event and one PostgreSQL refuses (a trigger
// raising for it: the edge cannot know such a rule), while a WebSocket client of
// project B sends steadily. Before the quarantine each bad row made the writers halve the shared
// batch down to the row, and B's p99 went from ~90 ms to ~3.7 s (40×).
func TestRejectedRowsDoNotStallAnotherProject(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, ws.Config{}, pgbatch.Config{}) // the relay's defaults: 5,000 rows, 50 ms, 2 writers
	a, b, good := s.project(t), s.project(t), s.project(t)
	c := s.dial(t, b, "steady")
	c.next("flags")
	lat := startSteady(t, c)

	attackURL := strings.Replace(s.url("/v1/events", a, "attacker"), "ws://", "http://", 1)
	goodURL := strings.Replace(s.url("/v1/events", good, "sender"), "ws://", "http://", 1)
	// The edge refuses what it knows PostgreSQL would (\u0000, numbers beyond a double); a rule a
	// DBA added, or a trigger bug, it cannot know: that is the attacker's row here. It costs
	// PostgreSQL little, so the attack weighs on the machine as the did (~10-byte rows).
	s.exec(t, `CREATE FUNCTION beacon.refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.name = 'bad' THEN RAISE EXCEPTION 'bad row'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_bad BEFORE INSERT ON beacon.events FOR EACH ROW EXECUTE FUNCTION beacon.refuse_bad()`)
	bad := `{"type":"event","event":"bad"}`
	body := "[" + strings.Repeat(`{"type":"event","event":"good"},`+bad+`,`, 10)
	body = strings.TrimSuffix(body, ",") + "]"
	goodBody := strings.ReplaceAll(body, `"bad"`, `"fine"`) // the same traffic, every row stored
	var posts, refused int64
	var mu sync.Mutex
	sendFor := func(d time.Duration, url, body string) {
		stop := make(chan struct{})
		var attackers sync.WaitGroup
		for range 4 {
			attackers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					n, err := attack(url, body)
					if err != nil {
						t.Errorf("attacker: %v", err)
						return
					}
					mu.Lock()
					posts++
					refused += int64(n)
					mu.Unlock()
				}
			})
		}
		time.Sleep(d)
		close(stop)
		attackers.Wait()
	}
	// The phases alternate, so a change in the machine's load (other tests share its 2 cores)
	// weighs on each alike.
	const phase = 700 * time.Millisecond
	// Discovery: the first shared batch that meets A's bad rows fails for everyone in it once,
	// then A is a suspect for 30 s and its rows skip shared batches. That one failed COPY (about
	// 0.1–0.4 s under -race on a busy machine) is logged, not counted: the bound is on the attack
	// as it goes on, as the issue measured it (3.6–3.9 s before the quarantine).
	sendFor(phase, attackURL, body)
	time.Sleep(phase) // the discovery's late acks land here, in no sample
	t.Logf("discovery round: p99 %v", p99(lat.cut()))
	// Each round: B alone, B beside the good traffic, B beside the attack. The bounds are on the
	// median of the rounds' ratios, so a spike from another process in one round does not decide.
	const rounds = 5
	var vsGood, vsAlone []float64
	for range rounds {
		time.Sleep(phase)
		alone := p99(lat.cut())
		sendFor(phase, goodURL, goodBody)
		withGood := p99(lat.cut())
		sendFor(phase, attackURL, body)
		attacked := p99(lat.cut())
		vsGood, vsAlone = append(vsGood, float64(attacked)/float64(withGood)), append(vsAlone, float64(attacked)/float64(alone))
		t.Logf("round: B's ack p99 %v alone, %v beside good rows, %v beside the attack", alone, withGood, attacked)
	}
	lat.stop()
	slices.Sort(vsGood)
	slices.Sort(vsAlone)
	t.Logf("median of %d rounds: attacked/good-traffic %.2f×, attacked/alone %.2f×; %d posts in all, %d of A's rows refused",
		rounds, vsGood[rounds/2], vsAlone[rounds/2], posts, refused)
	if refused == 0 {
		t.Fatal("the attack refused no row: it tested nothing")
	}
	race := slowdownBound()
	if m := vsGood[rounds/2]; m > race*maxSlowdown {
		t.Errorf("B's ack p99 beside the attack is %.2f× its p99 beside the same good traffic (rounds %.2f), over %v×", m, vsGood, race*maxSlowdown)
	}
	if m := vsAlone[rounds/2]; m > race*maxSlowdownAlone {
		t.Errorf("B's ack p99 beside the attack is %.2f× its p99 alone (rounds %.2f), over %v×", m, vsAlone, race*maxSlowdownAlone)
	}
	if n := s.count(t, `SELECT count(*) FROM beacon.events_rejected WHERE project_id = $1`, a); n == 0 {
		t.Error("no dead letter for A")
	}
}

// attack posts body and returns how many of its messages were answered with an error.
func attack(url, body string) (int, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		// The attacker's own rows wait in the quarantine; past COMMIT_TIMEOUT its POST is answered
		// 503 and re-sending is its business. Only the neighbour's latency is under test.
		return 0, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d, body: %v", resp.StatusCode, err)
	}
	n := 0
	for _, e := range out.Errors {
		if e.Code == protocol.CodeRejected { // refused by PostgreSQL, not at the edge
			n++
		}
	}
	return n, nil
}

// steady sends an event every few ms on c and measures each one's ack latency.
type steady struct {
	mu      sync.Mutex
	sent    map[int]time.Time
	samples []time.Duration
	done    chan struct{}
	wg      sync.WaitGroup
}

func startSteady(t *testing.T, c *client) *steady {
	st := &steady{sent: map[int]time.Time{}, done: make(chan struct{})}
	st.wg.Go(func() { // acks are cumulative: ack N answers every seq up to N
		acked := 0
		for {
			select {
			case <-st.done:
				return
			case m, ok := <-c.msgs:
				if !ok {
					return
				}
				if m["type"] != "ack" {
					continue
				}
				now, upTo := time.Now(), int(m["seq"].(float64))
				st.mu.Lock()
				for seq := acked + 1; seq <= upTo; seq++ {
					if at, ok := st.sent[seq]; ok {
						st.samples = append(st.samples, now.Sub(at))
						delete(st.sent, seq)
					}
				}
				st.mu.Unlock()
				acked = max(acked, upTo)
			}
		}
	})
	st.wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for seq := 1; ; seq++ {
			select {
			case <-st.done:
				return
			case <-tick.C:
			}
			st.mu.Lock()
			st.sent[seq] = time.Now()
			st.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.c.Write(ctx, websocket.MessageText, []byte(`{"type":"event","event":"steady","id":"`+uuid.NewString()+`","seq":`+strconv.Itoa(seq)+`}`))
			cancel()
			if err != nil {
				t.Errorf("steady sender: %v", err)
				return
			}
		}
	})
	return st
}

// cut returns the latencies measured since the last cut.
func (st *steady) cut() []time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.samples
	st.samples = nil
	return out
}

func (st *steady) stop() { close(st.done); st.wg.Wait() }

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// quantiles are p50, p90, p99 and the maximum of d, for the log.
func quantiles(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return nil
	}
	return []time.Duration{s[len(s)/2], s[len(s)*9/10], s[len(s)*99/100], s[len(s)-1]}
}
