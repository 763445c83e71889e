package testdeps_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/dev/testdeps"
)

// outcome records how Missing ended a test. Unlike testing.T's, its
// Fatalf and Skipf return, so the test can look at what was called.
type outcome struct {
	testing.TB
	fatal, skip []string
}

func (o *outcome) Helper() {}
func (o *outcome) Fatalf(format string, args ...any) {
	o.fatal = append(o.fatal, fmt.Sprintf(format, args...))
}
func (o *outcome) Skipf(format string, args ...any) {
	o.skip = append(o.skip, fmt.Sprintf(format, args...))
}

func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		env         string
		fatal, skip int
	}{{"", 0, 1}, {"0", 0, 1}, {"1", 1, 0}} {
		t.Setenv(testdeps.RequireEnv, tc.env)
		var o outcome
		testdeps.Missing(&o, "pdftotext", "apt-get install -y poppler-utils")
		if len(o.fatal) != tc.fatal || len(o.skip) != tc.skip {
			t.Errorf("%s=%q: %d failures %q and %d skips %q; want %d and %d",
				testdeps.RequireEnv, tc.env, len(o.fatal), o.fatal, len(o.skip), o.skip, tc.fatal, tc.skip)
		}
		for _, msg := range append(o.fatal, o.skip...) {
			if !strings.Contains(msg, "pdftotext") || !strings.Contains(msg, "`apt-get install -y poppler-utils`") {
				t.Errorf("the message does not say what is missing and how to install it: %s", msg)
			}
		}
	}
}

func TestCommand(t *testing.T) {
	t.Setenv(testdeps.RequireEnv, "1")
	var o outcome
	if path := testdeps.Command(&o, "go", "see https://go.dev/doc/install"); path == "" || len(o.fatal)+len(o.skip) != 0 {
		t.Errorf("Command(go) = %q, failures %q, skips %q; want the path of the go command that runs this test", path, o.fatal, o.skip)
	}
	testdeps.Command(&o, "no-such-program-infuse", "nothing installs it")
	if len(o.fatal) != 1 {
		t.Errorf("a missing program under %s=1: failures %q, skips %q; want one failure", testdeps.RequireEnv, o.fatal, o.skip)
	}
}
