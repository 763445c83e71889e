package worker_test

import (
	"testing"

	"github.com/infuse-cymru/journeys/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
