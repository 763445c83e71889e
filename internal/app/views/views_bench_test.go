package views_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// participantsEnv, if set, is the intake's size for BenchmarkViews;
// scripts/test, running it once to show it still runs, makes it small.
const participantsEnv = "INFUSE_VIEW_PARTICIPANTS"

// BenchmarkViews measures what a coordinator waits for on PostgreSQL with
// an intake of 10,000 participants (50 to a coach), each journey in its
// first lab month: the intake's dashboard (its counts and a page of its
// participants with their coaches: the first, and one halfway down), the
// counts by local authority and the funders' outcomes CSV. It
// reports ops/s and p50/p99 in ms; the goal is a p99 under 50 ms.
//
//	go test ./internal/app/views/ -run '^$' -bench Views -benchtime 20x
func BenchmarkViews(b *testing.B) {
	n := 10_000
	if v := os.Getenv(participantsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("%s=%q: give a number of participants, 1 or more", participantsEnv, v)
		}
	}
	ctx := context.Background()
	st := pgstore.OpenTest(b)
	intake := seedIntake(ctx, b, st, n)
	if err := st.Analyze(ctx); err != nil {
		b.Fatal(err)
	}
	svc, counts := views.New(nil, st), reports.New(st)
	middle := middleJourney(ctx, b, st, intake, n)
	dashboard := func(page views.DashboardPage) func(context.Context) error {
		return func(ctx context.Context) error { _, err := svc.IntakeDashboard(ctx, intake, page); return err }
	}
	views := []struct {
		name string
		op   func(context.Context) error
	}{
		{"dashboard", dashboard(views.DashboardPage{})},
		{"dashboard-middle-page", dashboard(views.DashboardPage{After: middle})},
		{"by-authority", func(ctx context.Context) error { _, err := counts.ByAuthority(ctx, intake); return err }},
		{"outcomes-csv", func(ctx context.Context) error { return counts.WriteOutcomesCSV(ctx, intake, io.Discard) }},
	}
	for _, v := range views {
		b.Run(v.name, func(b *testing.B) {
			r, err := benchref.ClosedLoop(ctx, b.N, 1, v.op)
			if err != nil {
				b.Fatal(err)
			}
			benchref.Report(b, r)
		})
	}
}

// middleJourney is the journey halfway down an intake of n's dashboard.
func middleJourney(ctx context.Context, b *testing.B, st store.Store, intake uuid.UUID, n int) (middle uuid.UUID) {
	err := st.Roster(ctx, intake, store.RosterPage{Limit: (n + 1) / 2}, func(e store.RosterEntry) error {
		middle = e.JourneyID
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return middle
}

// journeyStart is each seeded journey's log: started, and the first two
// sessions' attendance taken, one of them corrected.
var journeyStart = []struct{ typ, item string }{
	{"journey.started", ""},
	{"attendance.present", "adaption-lab/1"},
	{"attendance.absent", "adaption-lab/2"},
	{"attendance.present", "adaption-lab/2"},
}

// seedIntake stores an intake of n participants, a coach for every 50,
// each journey recorded as in its first lab month (journeyStart). Each
// intake seeded has people of its own, at addresses of its own.
func seedIntake(ctx context.Context, b testing.TB, st store.Store, n int) uuid.UUID {
	domain := uuid.NewString()[:8] + ".views.example.org"
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "View", FamilyName: "Coordinator", EmailAddress: "coord@" + domain}
	people := []store.Person{coord}
	var coaches, participants []uuid.UUID
	authorities := programme.LocalAuthorities
	for i := range (n + 49) / 50 {
		c := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Coach", FamilyName: fmt.Sprint(i), EmailAddress: fmt.Sprintf("coach%d@%s", i, domain)}
		people, coaches = append(people, c), append(coaches, c.ID)
	}
	for i := range n {
		p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Participant", FamilyName: fmt.Sprint(i),
			EmailAddress: fmt.Sprintf("p%d@%s", i, domain), LocalAuthority: authorities[i%len(authorities)], Theme: programme.Themes[i%len(programme.Themes)]}
		people, participants = append(people, p), append(participants, p.ID)
	}
	if err := st.CreatePeople(ctx, people); err != nil {
		b.Fatal(err)
	}
	startsOn := time.Date(2027, 1, 4, 0, 0, 0, 0, programme.London)
	in := store.Intake{ID: uuid.New(), Name: "Views", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: n, CoordinatorID: coord.ID,
		OpensAt: startsOn.AddDate(0, -2, 0), ClosesAt: startsOn.AddDate(0, -1, 0), StartsOn: startsOn, Status: store.IntakeStarted}
	if err := st.CreateIntake(ctx, in); err != nil {
		b.Fatal(err)
	}
	for i, person := range participants {
		j := uuid.New()
		snap := store.JourneySnapshot{JourneyID: j, IntakeID: in.ID, PersonID: person, CoachID: coaches[i/50],
			State: contract.StatusInLabs, Phase: "adaption-lab", NextDueItem: "adaption-lab/2", NextDueAt: startsOn.AddDate(0, 0, 14)}
		for k, e := range journeyStart {
			ev := store.Event{Key: fmt.Sprintf("journey/%s/%d", j, k+1), IntakeID: in.ID, JourneyID: j, Type: e.typ,
				OccurredAt: startsOn.Add(time.Duration(k) * time.Hour), Snapshot: &snap}
			if e.item != "" {
				ev.Data = json.RawMessage(fmt.Sprintf(`{"item": %q}`, e.item))
			}
			if _, err := st.Record(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	return in.ID
}
