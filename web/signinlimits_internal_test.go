package web

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterForgets: a limiter remembering maxLimitKeys keys forgets
// those whose limit has refilled before it takes a new one, and if none
// has, it forgets them all rather than turn newcomers away; a key it
// still remembers keeps its count.
func TestLimiterForgets(t *testing.T) {
	l := newLimiter(limit{every: time.Minute, burst: 2})
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for i := range maxLimitKeys {
		l.allow(fmt.Sprint("idle", i), t0)
	}
	l.allow("busy", t0.Add(90*time.Second)) // one over: forgets none yet (not full before)
	l.allow("busy", t0.Add(90*time.Second))
	if l.allow("busy", t0.Add(90*time.Second)) {
		t.Error("a key's third request at once was allowed, burst is 2")
	}
	if !l.allow("new", t0.Add(2*time.Minute)) || len(l.keys) != 2 {
		t.Errorf("after the idle keys refilled: %d keys remembered, want 2 (busy and new)", len(l.keys))
	}
	if l.allow("busy", t0.Add(2*time.Minute)) {
		t.Error("forgetting the idle keys reset a busy one")
	}

	for i := range 2 * maxLimitKeys {
		if !l.allow(fmt.Sprint("flood", i), t0.Add(3*time.Minute)) {
			t.Fatalf("flood key %d refused while full of busy keys; want them all forgotten instead", i)
		}
		if len(l.keys) > maxLimitKeys {
			t.Fatalf("%d keys remembered, want at most %d", len(l.keys), maxLimitKeys)
		}
	}
}
