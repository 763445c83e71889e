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
	for i := range maxLimitKeys - 1 {
		l.allow(fmt.Sprint("idle", i), t0) // one of two used: refilled a minute on
	}
	l.allow("busy", t0.Add(30*time.Second))
	l.allow("busy", t0.Add(30*time.Second)) // both used: 1.5 back by t0+2m
	if len(l.keys) != maxLimitKeys {
		t.Fatalf("%d keys remembered, want %d (full)", len(l.keys), maxLimitKeys)
	}
	at := t0.Add(2 * time.Minute)
	if !l.allow("new", at) {
		t.Error("a new key was refused")
	}
	if len(l.keys) != 2 {
		t.Errorf("after a new key on a full limiter: %d keys remembered, want 2 (busy and new; the refilled ones forgotten)", len(l.keys))
	}
	if !l.allow("busy", at) || l.allow("busy", at) {
		t.Error("the busy key did not keep its count (1.5 left: one more now, not two)")
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
