package views_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// personCounting is a real store that counts the people looked up one at
// a time, and the reads of an event log.
type personCounting struct {
	store.Store
	gets, logReads, intakeGets atomic.Int64
}

func (s *personCounting) GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error) {
	s.intakeGets.Add(1)
	return s.Store.GetIntake(ctx, id)
}

func (s *personCounting) IntakeEvents(ctx context.Context, id uuid.UUID) ([]store.Event, error) {
	s.logReads.Add(1)
	return s.Store.IntakeEvents(ctx, id)
}

func (s *personCounting) JourneyEvents(ctx context.Context, id uuid.UUID) ([]store.Event, error) {
	s.logReads.Add(1)
	return s.Store.JourneyEvents(ctx, id)
}

func (s *personCounting) GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error) {
	s.gets.Add(1)
	return s.Store.GetPerson(ctx, id)
}

// A list of an intake's journeys names everyone on it without asking the
// store once a person: at 10,000 participants that was 10,000 queries. Nor
// does one read the event log: the outcomes CSV read the intake's whole
// log, some sixty events a journey, to count attendance and checkpoints.
func TestIntakeListsLookPeopleUpTogether(t *testing.T) {
	ctx := context.Background()
	st := &personCounting{Store: sqlitestore.OpenTest(t)}
	intake := seedIntake(ctx, t, st, 120)
	svc, counts := views.New(nil, st), reports.New(st)
	views := map[string]func() error{
		"dashboard": func() error {
			d, err := svc.IntakeDashboard(ctx, intake, views.DashboardPage{})
			if err == nil && (len(d.Rows) != views.DashboardRows || d.Total != 120 || d.Rows[0].Name == "" || d.Rows[0].CoachName == "") {
				t.Errorf("the dashboard has %d rows of %d: want a page of %d of 120, named, with their coaches: %+v",
					len(d.Rows), d.Total, views.DashboardRows, d.Rows)
			}
			return err
		},
		"by authority": func() error { _, err := counts.ByAuthority(ctx, intake); return err },
		"outcomes CSV": func() error { return counts.WriteOutcomesCSV(ctx, intake, io.Discard) },
	}
	for name, view := range views {
		st.gets.Store(0)
		st.logReads.Store(0)
		if err := view(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := st.gets.Load(); n > 1 { // the coordinator
			t.Errorf("the %s looked %d people up one at a time", name, n)
		}
		if n := st.logReads.Load(); n > 0 {
			t.Errorf("the %s read an event log %d times", name, n)
		}
	}
}

// A coach's inbox reads their caseload, its participants and intakes named,
// in one query: it looked each participant and intake up, eight reads for
// a coach of three. It names each participant as that look-up did: an
// erased one keeps their authority and theme but no name or address, one
// gone from the store is erased too.
func TestInboxReadsTheCaseloadTogether(t *testing.T) {
	ctx := context.Background()
	st := &personCounting{Store: sqlitestore.OpenTest(t)}
	intake := seedIntake(ctx, t, st, 120)
	var coach uuid.UUID
	var entries []store.RosterEntry
	if err := st.Roster(ctx, intake, store.RosterPage{}, func(e store.RosterEntry) error {
		if coach == uuid.Nil || e.CoachID == coach {
			coach = e.CoachID
			entries = append(entries, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	erased, gone := entries[0].PersonID, uuid.New()
	if _, err := st.ErasePerson(ctx, erased, time.Now()); err != nil {
		t.Fatal(err)
	}
	snap := entries[1].JourneySnapshot
	snap.JourneyID, snap.PersonID = uuid.New(), gone
	if _, err := st.Record(ctx, store.Event{Key: "journey/" + snap.JourneyID.String() + "/1", IntakeID: intake,
		JourneyID: snap.JourneyID, Type: "journey.started", OccurredAt: time.Now(), Snapshot: &snap}); err != nil {
		t.Fatal(err)
	}
	st.gets.Store(0)
	st.intakeGets.Store(0)
	in, err := views.New(nil, st).CoachInbox(ctx, coach)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.gets.Load(); n > 1 { // the coach
		t.Errorf("the inbox looked %d people up one at a time", n)
	}
	if n := st.intakeGets.Load(); n > 0 {
		t.Errorf("the inbox looked %d intakes up one at a time", n)
	}
	if len(in.Journeys) != len(entries)+1 {
		t.Fatalf("the inbox has %d journeys, want the coach's %d", len(in.Journeys), len(entries)+1)
	}
	for _, j := range in.Journeys {
		want := views.PersonSummary{ID: j.Participant.ID, Name: "(erased)"}
		switch p, err := st.Store.GetPerson(ctx, j.Participant.ID); {
		case j.Participant.ID == gone:
		case err != nil:
			t.Fatal(err)
		case j.Participant.ID == erased:
			want.LocalAuthority, want.Theme = p.LocalAuthority, p.Theme
		default:
			want = views.PersonSummary{ID: p.ID, Name: p.GivenName + " " + p.FamilyName, Email: p.EmailAddress,
				LocalAuthority: p.LocalAuthority, Theme: p.Theme}
		}
		if j.Participant != want || j.IntakeName != "Views" || j.Coach == nil || j.Coach.ID != coach {
			t.Errorf("the inbox lists journey %s as %+v (coach %+v, intake %q); want participant %+v, coach %s, intake Views",
				j.JourneyID, j.Participant, j.Coach, j.IntakeName, want, coach)
		}
	}
}

// A coordinator pages through an intake's dashboard, forwards and back,
// and sees every journey once, in the same order, with the whole intake's
// counts on every page; a page named by another intake's journey, or by
// two journeys, or of too many rows is refused.
func TestTheDashboardPagesThroughAnIntake(t *testing.T) {
	ctx := context.Background()
	st := sqlitestore.OpenTest(t)
	const n = 25 // more than the authorities, so that some have two
	intake, other := seedIntake(ctx, t, st, n), seedIntake(ctx, t, st, 1)
	svc := views.New(nil, st)
	dashboard := func(page views.DashboardPage) views.IntakeDashboard {
		t.Helper()
		d, err := svc.IntakeDashboard(ctx, intake, page)
		if err != nil {
			t.Fatalf("the dashboard's page %+v: %v", page, err)
		}
		sum := func(counts map[string]int) (n int) {
			for _, c := range counts {
				n += c
			}
			return n
		}
		if d.Total != n || d.Counts[string(contract.StatusInLabs)] != n || sum(d.ByLocalAuthority) != n || d.ByLocalAuthority[programme.LocalAuthorities[0]] != 3 ||
			len(d.ByTheme) != len(programme.Themes) || sum(d.ByTheme) != n {
			t.Errorf("page %+v counts %d journeys, by state %v, by authority %v, by theme %v; want the whole intake's %d",
				page, d.Total, d.Counts, d.ByLocalAuthority, d.ByTheme, n)
		}
		return d
	}
	whole := dashboard(views.DashboardPage{})
	if len(whole.Rows) != n || whole.Previous != uuid.Nil || whole.Next != uuid.Nil {
		t.Fatalf("the first page of 100 has %d rows (previous %s, next %s); want all %d and no other page", len(whole.Rows), whole.Previous, whole.Next, n)
	}
	if !slices.IsSortedFunc(whole.Rows, func(a, b views.DashboardRow) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("the dashboard's rows are not by name: %+v", whole.Rows)
	}
	// Pages of 5 end on a full page, pages of 3 on a part of one.
	for _, size := range []int{3, 5} {
		var forwards, backwards []views.DashboardRow
		var pages int
		for page := (views.DashboardPage{Limit: size}); pages < n; pages++ {
			d := dashboard(page)
			forwards = append(forwards, d.Rows...)
			if (d.Previous != uuid.Nil) != (pages > 0) || pages > 0 && d.Previous != d.Rows[0].JourneyID {
				t.Errorf("page %d of %d rows names the page before it as %s", pages+1, size, d.Previous)
			}
			if page.After = d.Next; d.Next == uuid.Nil {
				break
			}
			if d.Next != d.Rows[len(d.Rows)-1].JourneyID {
				t.Errorf("page %d of %d rows names the page after it as %s, not its last row", pages+1, size, d.Next)
			}
		}
		if pages != (n-1)/size || !slices.Equal(forwards, whole.Rows) {
			t.Errorf("pages of %d forwards (%d more after the first) list %+v\nwant %+v", size, pages, forwards, whole.Rows)
		}
		last := whole.Rows[n-1].JourneyID
		for page := (views.DashboardPage{Limit: size, Before: last}); ; {
			d := dashboard(page)
			backwards = append(d.Rows, backwards...)
			if len(d.Rows) == 0 || d.Next != d.Rows[len(d.Rows)-1].JourneyID {
				t.Fatalf("a page before %s of %d rows names the page after it as %s", page.Before, len(d.Rows), d.Next)
			}
			// The page after a page before: the journeys from page.Before on.
			if after := dashboard(views.DashboardPage{Limit: size, After: d.Next}); len(after.Rows) == 0 || after.Rows[0].JourneyID != page.Before {
				t.Errorf("the page after the page before %s is %+v, not from that journey on", page.Before, after.Rows)
			}
			if page.Before = d.Previous; d.Previous == uuid.Nil || len(backwards) > n {
				break
			}
		}
		if !slices.Equal(backwards, whole.Rows[:n-1]) {
			t.Errorf("pages of %d backwards from the last list %+v\nwant %+v", size, backwards, whole.Rows[:n-1])
		}
	}
	elsewhere, err := svc.IntakeDashboard(ctx, other, views.DashboardPage{})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []views.DashboardPage{
		{After: elsewhere.Rows[0].JourneyID}, {Before: uuid.New()}, {After: whole.Rows[0].JourneyID, Before: whole.Rows[1].JourneyID},
		{Limit: -1}, {Limit: views.MaxDashboardRows + 1},
	} {
		if _, err := svc.IntakeDashboard(ctx, intake, page); !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("the dashboard's page %+v: %v; want ErrInvalid", page, err)
		}
	}
}
