// Package app is the application layer put together: what people do
// (commands), what they see (views), who they are (people), the funders'
// reports and the privacy requests, over one store and one way to the
// workflows (starter). The command line, the API and the pages each take
// an App, so they all answer a request the same way.
//
// Each part declares the few store methods it uses; Store here is only
// their sum, which the store satisfies. The faces never see the store
// itself: what they check a request against (credentials, idempotency
// claims, health) is handed to them through the interface its package
// declares.
package app

import (
	"time"

	"go.temporal.io/sdk/client"

	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/app/privacy"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/starter"
)

// Store is everything the application's parts read and write.
type Store interface {
	commands.Store
	views.Store
	people.Store
	reports.Store
	privacy.Store
	auth.Credentials
	idempotency.Claims
	telemetry.Pinger
}

// App is the application's parts, over one store.
type App struct {
	Workflows *starter.Workflows
	Commands  *commands.Service
	Views     *views.Service
	People    *people.Service
	Reports   *reports.Service
	Privacy   *privacy.Service

	// Credentials are the API tokens, sign-in links and sessions requests
	// are authenticated against; Claims, the idempotency keys of requests
	// that change something; Health, what the readiness check pings.
	Credentials auth.Credentials
	Claims      idempotency.Claims
	Health      telemetry.Pinger
}

// New puts the application together over st, reaching workflows through
// c (nil for none: the commands then cannot act, and the views answer from
// the store alone).
func New(c client.Client, st Store) *App {
	w := starter.New(c)
	return &App{
		Workflows:   w,
		Commands:    commands.New(w, st),
		Views:       views.New(w, st),
		People:      people.New(st),
		Reports:     reports.New(st),
		Privacy:     privacy.New(st),
		Credentials: st,
		Claims:      st,
		Health:      st,
	}
}

// SetClock makes now the one clock of every part that reads the time
// (the dates people give, what is due and overdue, export and erasure
// times); New starts them on the wall clock.
func (a *App) SetClock(now func() time.Time) {
	a.Commands.Now, a.Views.Now, a.Privacy.Now = now, now, now
}
