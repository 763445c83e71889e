package commands

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseTime: whatever a coordinator types for a time (`intake
// reschedule --to`, the API's startsAt, the pages' fields), reading it
// does not panic, ignores surrounding spaces, and a time it reads is the
// same instant when written back as RFC 3339 and read again. `go test -run
// '^$' -fuzz FuzzParseTime ./internal/app/commands` explores further; the seeds run with
// the suite.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2027-01-04", "2027-01-04T10:00", "2027-01-04 10:00", "2027-01-04T10:00:00",
		"2027-01-04T10:00:00Z", "2027-01-04T10:00:00.123456789+01:00",
		"2027-03-28T01:30", // in the hour the clocks skip in London
		"2027-10-31T01:30", // in the hour they repeat
		"2027-02-30", "2027-01-04T24:00", "04/01/2027", "tomorrow", "", " 2027-01-04 ",
		"2027-01-04T10:00:00+25:00", "9999-12-31T23:59:59Z", "0000-01-01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, ok := ParseTime(s)
		if spaced, sok := ParseTime(" \t" + s + "\n "); sok != ok || !spaced.Equal(at) {
			t.Fatalf("%q reads as %v %v, but with spaces around as %v %v", s, at, ok, spaced, sok)
		}
		if !ok {
			if !at.IsZero() {
				t.Fatalf("%q is refused but reads as %v", s, at)
			}
			return
		}
		written := at.Format(time.RFC3339Nano)
		back, ok := ParseTime(written)
		if !ok || !back.Equal(at) {
			t.Fatalf("%q reads as %v, written %q, which reads back as %v %v", s, at, written, back, ok)
		}
		if strings.TrimSpace(s) == "" {
			t.Fatalf("nothing at all reads as %v", at)
		}
	})
}
