// Package testdeps is how a test says it needs something Go does not
// provide, such as a browser or pdftotext. On a developer's machine a
// missing dependency skips the test, saying how to install it; under
// scripts/test, which installs every dependency and sets INFUSE_REQUIRE_DEPS=1,
// it fails instead, so no test can silently stop running because a machine
// lacks a program. It imports nothing but the standard library, so any test
// can use it cheaply.
package testdeps

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv names the environment variable that, set to 1, makes a missing
// dependency a failure rather than a skip.
const RequireEnv = "INFUSE_REQUIRE_DEPS"

// Missing ends the test because what it needs is missing: a failure under
// INFUSE_REQUIRE_DEPS=1, else a skip. install is the command that installs
// it, for the message.
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s is missing and %s=1 requires it: install it with `%s`", what, RequireEnv, install)
	} else {
		t.Skipf("%s is missing, so this test does not run: install it with `%s` (with %s=1, as scripts/test sets, this is a failure)",
			what, install, RequireEnv)
	}
}

// Command is the path of the program name (a name looked up in $PATH, or
// a path), or Missing if it is not installed.
func Command(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, install)
	}
	return path
}
