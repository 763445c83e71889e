package app_test

import (
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// The tests share one Temporal server, a namespace each (testenv).
func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the application over a store the test also reads directly.
type fixture struct {
	*app.App
	Store store.Store
}

func newFixture(c client.Client, st store.Store) fixture {
	return fixture{App: app.New(c, st), Store: st}
}

// withTemporal is the application on a real in-process Temporal server
// with the real worker, and a SQLite store.
func withTemporal(t *testing.T) fixture {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	return newFixture(testenv.Start(t, st).GetDefaultClient(), st)
}

// storeOnly is the application with no Temporal: what the store alone answers.
func storeOnly(t *testing.T) fixture {
	t.Helper()
	return newFixture(nil, sqlitestore.OpenTest(t))
}
