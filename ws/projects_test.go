package ws

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// countingStore knows one project and counts the lookups that reach it.
type countingStore struct {
	known   uuid.UUID
	lookups int
}

func (s *countingStore) ProjectOrigins(_ context.Context, id string) ([]string, bool, error) {
	s.lookups++
	return []string{"https://a.example"}, id == s.known.String(), nil
}

func (s *countingStore) Identify(context.Context, string, string, string, string, []byte) error {
	return fmt.Errorf("not used")
}

// The project cache answers repeats (misses too) from memory and never grows past its bound,
// however many random ids clients send.
func TestProjectCacheIsBounded(t *testing.T) {
	store := &countingStore{known: uuid.New()}
	p := newProjects(store, 100)
	ctx := context.Background()
	for range 3 {
		if e, err := p.get(ctx, store.known); err != nil || !e.exists || len(e.origins) != 1 {
			t.Fatalf("known project: %+v %v", e, err)
		}
	}
	missing := uuid.New()
	for range 3 {
		if e, err := p.get(ctx, missing); err != nil || e.exists {
			t.Fatalf("missing project: %+v %v", e, err)
		}
	}
	if store.lookups != 2 {
		t.Fatalf("%d lookups for 2 projects asked 3 times each, want 2", store.lookups)
	}
	for range 10_000 {
		if _, err := p.get(ctx, uuid.New()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(p.m); n > 100 {
		t.Fatalf("cache holds %d entries, bound is 100", n)
	}
}

// TestProjectCacheMissesStayApart: a flood of random ids fills only the capped miss cache; the
// known project stays cached (no new lookup), and a miss is forgotten after missTTL.
func TestProjectCacheMissesStayApart(t *testing.T) {
	store := &countingStore{known: uuid.New()}
	p := newProjects(store, maxCachedProjects)
	ctx := context.Background()
	if _, err := p.get(ctx, store.known); err != nil {
		t.Fatal(err)
	}
	for range 2 * maxCachedProjects {
		if e, err := p.get(ctx, uuid.New()); err != nil || e.exists {
			t.Fatalf("random id: %+v %v", e, err)
		}
	}
	if len(p.miss) > maxCachedMisses || len(p.m) != 1 {
		t.Fatalf("%d misses (cap %d), %d projects (want 1)", len(p.miss), maxCachedMisses, len(p.m))
	}
	before := store.lookups
	if e, err := p.get(ctx, store.known); err != nil || !e.exists || store.lookups != before {
		t.Fatalf("known project after the flood: %+v %v, %d new lookups", e, err, store.lookups-before)
	}
	gone := uuid.New()
	_, _ = p.get(ctx, gone)
	p.mu.Lock()
	p.miss[gone] = projectEntry{at: time.Now().Add(-missTTL)} // as if looked up missTTL ago
	p.mu.Unlock()
	before = store.lookups
	if _, _ = p.get(ctx, gone); store.lookups != before+1 {
		t.Fatal("a miss older than missTTL was answered from the cache")
	}
}
