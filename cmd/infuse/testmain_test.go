package main

import (
	"testing"

	"github.com/infuse-cymru/journeys/dev/testenv"
)

// The tests share one Temporal server, a namespace each (testenv). A run of
// them all must have checked every command's --json output (json_test.go).
func TestMain(m *testing.M) { testenv.Main(m, everyJSONOutputChecked) }
