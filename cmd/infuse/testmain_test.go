package main

import (
	"testing"

	"github.com/infuse-cymru/journeys/internal/testenv"
)

// The tests share one Temporal server, a namespace each (testenv).
func TestMain(m *testing.M) { testenv.Main(m) }
