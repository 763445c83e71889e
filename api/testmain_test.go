package api

import (
	"testing"

	"github.com/infuse-cymru/journeys/dev/testenv"
)

// The tests share one Temporal server, a namespace each (testenv). A run of
// them all must have reached every route's success answer (helpers_test.go).
func TestMain(m *testing.M) { testenv.Main(m, everySuccessReached) }
