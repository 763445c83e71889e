package web_test

import (
	"testing"

	"github.com/infuse-cymru/journeys/dev/testenv"
)

// The tests share one Temporal server, a namespace each (testenv).
func TestMain(m *testing.M) { testenv.Main(m) }
