package storetest

// What the projections show of journeys: rosters, outcomes, tallies, rebuilds, caseloads.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// An intake's roster is each of its journeys once, with its participant
// and coach as a list names them: an erased person blank but for the
// authority and theme, a person the store does not know unknown, no coach
// unknown, a coach without authority or theme; another intake's journeys
// are not in it.
func testRoster(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	coach, erasedCoach, erased := newPerson(store.RoleCoach), newPerson(store.RoleCoach), newPerson(store.RoleParticipant)
	a, b, elsewhere := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	erased.LocalAuthority, erased.Theme = "Newport", "wellbeing"
	must(t, s.CreatePeople(ctx, []store.Person{coach, erasedCoach, erased, a, b, elsewhere}))
	join := func(in store.Intake, person, coach uuid.UUID) store.JourneySnapshot {
		journey := uuid.New()
		snap := snapshot(in, journey, person, "in_labs")
		snap.CoachID, snap.Phase, snap.NextDueItem, snap.NextDueAt, snap.OverdueCount = coach, "adaption-lab", "adaption-lab/2", base, 1
		_, err := s.Record(ctx, journeyEvent(in, journey, journey.String()+"/1", "journey.changed", snap))
		must(t, err)
		return *snap
	}
	listed := func(p store.Person) store.Listed {
		return store.Listed{Known: true, GivenName: p.GivenName, FamilyName: p.FamilyName, LocalAuthority: p.LocalAuthority, Theme: p.Theme}
	}
	asCoach := func(p store.Person) store.Listed {
		return store.Listed{Known: true, GivenName: p.GivenName, FamilyName: p.FamilyName}
	}
	unknown := uuid.New()
	want := map[uuid.UUID]store.RosterEntry{}
	for _, e := range []store.RosterEntry{
		{JourneySnapshot: join(in, a.ID, coach.ID), Participant: listed(a), Coach: asCoach(coach)},
		{JourneySnapshot: join(in, b.ID, erasedCoach.ID), Participant: listed(b), Coach: store.Listed{Known: true, Erased: true}},
		{JourneySnapshot: join(in, erased.ID, coach.ID), Participant: store.Listed{Known: true, LocalAuthority: "Newport", Theme: "wellbeing", Erased: true},
			Coach: asCoach(coach)},
		{JourneySnapshot: join(in, unknown, uuid.Nil)},
	} {
		want[e.JourneyID] = e
	}
	join(other, elsewhere.ID, coach.ID)
	for _, id := range []uuid.UUID{erased.ID, erasedCoach.ID} {
		_, err := s.ErasePerson(ctx, id, base)
		must(t, err)
	}

	got := roster(t, s, in.ID)
	if len(got) != len(want) {
		t.Fatalf("Roster = %d journeys, want %d (the intake's, each once): %+v", len(got), len(want), got)
	}
	for _, e := range got {
		w, ok := want[e.JourneyID]
		if !ok {
			t.Errorf("Roster has journey %s, not one of the intake's: %+v", e.JourneyID, e)
			continue
		}
		sameSnapshot(t, "Roster's journey "+e.JourneyID.String(), e.JourneySnapshot, w.JourneySnapshot)
		if e.Participant != w.Participant || e.Coach != w.Coach {
			t.Errorf("Roster has\n%+v\nwant\n%+v", e, w)
		}
		delete(want, e.JourneyID)
	}
	if none := roster(t, s, uuid.New()); len(none) != 0 {
		t.Errorf("Roster of no intake = %v; want none", none)
	}
	// Roster stops at its caller's first error, and returns it as it is.
	stop := errors.New("enough")
	seen := 0
	err := s.Roster(ctx, in.ID, store.RosterPage{}, func(store.RosterEntry) error { seen++; return stop })
	if err != stop || seen != 1 {
		t.Errorf("Roster with a caller that stops at once: %d seen, error %v; want 1 and %v as it was", seen, err, stop)
	}
}

// roster is an intake's whole Roster as a list.
func roster(t *testing.T, s store.Store, intakeID uuid.UUID) []store.RosterEntry {
	return rosterPage(t, s, intakeID, store.RosterPage{})
}

// rosterPage is one page of an intake's Roster as a list.
func rosterPage(t *testing.T, s store.Store, intakeID uuid.UUID, page store.RosterPage) []store.RosterEntry {
	t.Helper()
	var out []store.RosterEntry
	must(t, s.Roster(ctxFor(t), intakeID, page, func(e store.RosterEntry) error { out = append(out, e); return nil }))
	return out
}

// An intake's roster lists its participants by given name, then family
// name, as Go orders strings (capitals before small letters, whatever the
// database's locale), two of the same name by journey ID, those erased or
// gone last, by journey ID; and it reads the same page by page, forwards
// and backwards, each journey once. A page named by another intake's
// journey is empty. Exported for a backend to run under settings of its
// own (a database whose locale orders names otherwise).
func RosterPages(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	var people []store.Person
	// "anna" and "Bryn", "Émile" and "Erased": a locale's order is not
	// Go's (TestRosterPagesWhateverTheCollation relies on them).
	for _, name := range [][2]string{{"anna", "Ng"}, {"Zed", "Owen"}, {"Ann", "Jones"}, {"Ann", "Jones"}, {"Ann", "Jones"},
		{"Ann", "Ap Rhys"}, {"Émile", "Roux"}, {"Bryn", "ap Rhys"}, {"Bryn", "Ap Rhys"}, {"Erased", "Once"}, {"Erased", "Twice"}} {
		p := newPerson(store.RoleParticipant)
		p.GivenName, p.FamilyName = name[0], name[1]
		people = append(people, p)
	}
	must(t, s.CreatePeople(ctx, people))
	type listed struct {
		journey       uuid.UUID
		person        uuid.UUID
		given, family string
		unnamed       bool // erased or gone
	}
	var want []listed
	join := func(p store.Person) {
		journey := uuid.New()
		_, err := s.Record(ctx, journeyEvent(in, journey, journey.String()+"/1", "journey.changed", snapshot(in, journey, p.ID, "applied")))
		must(t, err)
		want = append(want, listed{journey: journey, person: p.ID, given: p.GivenName, family: p.FamilyName})
	}
	for _, p := range people {
		join(p)
	}
	join(store.Person{ID: uuid.New()}) // gone from the store
	want[len(want)-1].unnamed = true
	for _, p := range people[len(people)-2:] {
		_, err := s.ErasePerson(ctx, p.ID, base)
		must(t, err)
		want[slices.IndexFunc(want, func(l listed) bool { return l.person == p.ID })].unnamed = true
	}
	slices.SortFunc(want, func(a, b listed) int {
		if a.unnamed || b.unnamed {
			return cmp.Or(cmp.Compare(btoi(a.unnamed), btoi(b.unnamed)), bytes.Compare(a.journey[:], b.journey[:]))
		}
		return cmp.Or(strings.Compare(a.given, b.given), strings.Compare(a.family, b.family), bytes.Compare(a.journey[:], b.journey[:]))
	})
	journeys := func(entries []store.RosterEntry) []uuid.UUID {
		ids := make([]uuid.UUID, len(entries))
		for i, e := range entries {
			ids[i] = e.JourneyID
		}
		return ids
	}
	var order []uuid.UUID
	for _, l := range want {
		order = append(order, l.journey)
	}
	if got := journeys(roster(t, s, in.ID)); !slices.Equal(got, order) {
		t.Errorf("Roster in order %v\nwant %v (%+v)", got, order, want)
	}
	for _, size := range []int{1, 2, 3, len(order), len(order) + 1} {
		var forwards, backwards []uuid.UUID
		for page := (store.RosterPage{Limit: size}); ; {
			got := journeys(rosterPage(t, s, in.ID, page))
			if len(got) > size {
				t.Fatalf("a page of %d after %s has %d journeys", size, page.After, len(got))
			}
			if forwards = append(forwards, got...); len(got) < size || len(forwards) > len(order) {
				break
			}
			page.After = got[len(got)-1]
		}
		for page := (store.RosterPage{Limit: size, Before: order[len(order)-1]}); ; {
			got := journeys(rosterPage(t, s, in.ID, page))
			if len(got) > size {
				t.Fatalf("a page of %d before %s has %d journeys", size, page.Before, len(got))
			}
			if backwards = append(got, backwards...); len(got) < size || len(backwards) > len(order) {
				break
			}
			page.Before = got[0]
		}
		if !slices.Equal(forwards, order) {
			t.Errorf("pages of %d forwards list %v\nwant %v", size, forwards, order)
		}
		if want := order[:len(order)-1]; !slices.Equal(backwards, want) {
			t.Errorf("pages of %d backwards from the last list %v\nwant %v", size, backwards, want)
		}
	}
	elsewhere := uuid.New()
	_, err := s.Record(ctx, journeyEvent(other, elsewhere, elsewhere.String()+"/1", "journey.changed", snapshot(other, elsewhere, people[0].ID, "applied")))
	must(t, err)
	for _, page := range []store.RosterPage{{After: uuid.New()}, {Before: uuid.New(), Limit: 2}, {After: order[len(order)-1]},
		{After: elsewhere}, {Before: elsewhere}} {
		if got := rosterPage(t, s, in.ID, page); len(got) != 0 {
			t.Errorf("Roster %+v = %d journeys; want none", page, len(got))
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The outcomes report's counts are kept as events are appended, by this
// release's Record or an earlier one's, and come back the same from the
// log alone: a session counts by its latest attendance, a checkpoint
// completed twice counts once, a journey ended at its first event with an
// outcome, an erased participant's authority and theme stay, and another
// intake's journeys are not there.
func testJourneyOutcomes(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	check := SeedOutcomes(t, s)
	check(t, s, "as recorded")
	must(t, s.(ProjectionWiper).WipeProjections(ctx))
	must(t, s.RebuildProjections(ctx))
	check(t, s, "rebuilt from the log")
	if none, err := s.JourneyOutcomes(ctx, uuid.New()); err != nil || len(none) != 0 {
		t.Errorf("JourneyOutcomes of no intake = %v, %v; want none", none, err)
	}
}

// SeedOutcomes records the journeys of testJourneyOutcomes in s and returns
// the check that a store (s, or s again after a migration) reports their
// outcomes as it should. A backend's migration test uses it to prove that
// the migration that made the outcomes' table filled it from the log.
func SeedOutcomes(t *testing.T, s store.Store) func(t *testing.T, s store.Store, when string) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	p, erased := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	p.LocalAuthority, p.Theme = "Torfaen", "data"
	erased.LocalAuthority, erased.Theme = "Newport", "wellbeing"
	must(t, s.CreatePeople(ctx, []store.Person{p, erased}))
	n := 0
	record := func(in store.Intake, snap *store.JourneySnapshot, typ, item string, hours int) {
		t.Helper()
		n++
		ev := journeyEvent(in, snap.JourneyID, fmt.Sprintf("%s/%d", snap.JourneyID, n), typ, snap)
		ev.OccurredAt, ev.Data = base.Add(time.Duration(hours)*time.Hour), nil
		if item != "" {
			ev.Data = json.RawMessage(fmt.Sprintf(`{"item": %q}`, item))
		}
		_, err := s.Record(ctx, ev)
		must(t, err)
	}
	a := snapshot(in, uuid.New(), p.ID, "in_labs")
	for i, step := range []struct{ typ, item string }{
		{"journey.started", ""},
		{"attendance.present", "lab/1"},
		{"attendance.present", "lab/2"},
		{"attendance.absent", "lab/2"}, // corrected
		{"attendance.absent", "lab/3"},
		{"attendance.present", "lab/4"},
		{"checkpoint.completed", "checkpoint/1"},
		{"checkpoint.completed", "checkpoint/1"}, // again, under another key
		{"checkpoint.completed", "checkpoint/2"},
		{"checkpoint.completed", ""}, // no item: counts once, under none, as when the report read the log
	} {
		record(in, a, step.typ, step.item, i)
	}
	done := *a
	done.State, done.Outcome = "completed", "completed"
	record(in, &done, "journey.completed", "", 100)
	record(in, &done, "certificate.issued", "", 200) // still ended at 100

	b := snapshot(in, uuid.New(), erased.ID, "in_labs")
	record(in, b, "attendance.absent", "lab/1", 1)
	record(in, b, "attendance.present", "lab/1", 2) // corrected the other way
	// Appended by a worker of the release before (a rolling upgrade).
	bare, ok := s.(BareAppender)
	if !ok {
		t.Fatalf("%T does not implement storetest.BareAppender; add AppendBare in the backend's _test.go", s)
	}
	must(t, bare.AppendBare(ctx, store.Event{Key: b.JourneyID.String() + "/older-release", IntakeID: in.ID, JourneyID: b.JourneyID,
		Type: "attendance.present", OccurredAt: base.Add(3 * time.Hour), Data: json.RawMessage(`{"item": "lab/2"}`)}))
	c := snapshot(in, uuid.New(), uuid.New(), "offered")
	record(in, c, "offer.made", "", 1)
	record(other, snapshot(other, uuid.New(), p.ID, "in_labs"), "attendance.present", "lab/1", 1)
	_, err := s.ErasePerson(ctx, erased.ID, base)
	must(t, err)

	want := []store.JourneyOutcome{
		{JourneyID: a.JourneyID, State: "completed", Outcome: "completed", LocalAuthority: "Torfaen", Theme: "data",
			SessionsAttended: 2, CheckpointsCompleted: 3, EndedAt: base.Add(100 * time.Hour)},
		{JourneyID: b.JourneyID, State: "in_labs", LocalAuthority: "Newport", Theme: "wellbeing", SessionsAttended: 2},
		{JourneyID: c.JourneyID, State: "offered"},
	}
	slices.SortFunc(want, func(x, y store.JourneyOutcome) int { return bytes.Compare(x.JourneyID[:], y.JourneyID[:]) })
	return func(t *testing.T, s store.Store, when string) {
		t.Helper()
		got, err := s.JourneyOutcomes(ctxFor(t), in.ID)
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("JourneyOutcomes %s = %+v\nwant (in the order of their IDs) %+v", when, got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			if !g.EndedAt.Equal(store.StoredTime(w.EndedAt)) {
				t.Errorf("JourneyOutcomes %s: journey %s ended at %v, want %v", when, g.JourneyID, g.EndedAt, w.EndedAt)
			}
			g.EndedAt, w.EndedAt = time.Time{}, time.Time{}
			if g != w {
				t.Errorf("JourneyOutcomes %s, row %d:\n got %+v\nwant %+v", when, i, g, w)
			}
		}
	}
}

// A tally counts journeys alike in their participant's authority and
// theme, state and outcome: an erased participant's authority still
// counts, a participant not in the store counts under none, and another
// intake's journeys count only in the tally of every intake.
func testTallyJourneys(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	newcomer := func(authority, theme string) store.Person {
		p := newPerson(store.RoleParticipant)
		p.LocalAuthority, p.Theme = authority, theme
		must(t, s.CreatePeople(ctx, []store.Person{p}))
		return p
	}
	join := func(in store.Intake, person uuid.UUID, state, outcome contract.Status) {
		journey := uuid.New()
		snap := snapshot(in, journey, person, state)
		snap.Outcome = outcome
		_, err := s.Record(ctx, journeyEvent(in, journey, journey.String()+"/1", "journey.changed", snap))
		must(t, err)
	}
	join(in, newcomer("Cardiff", "decarbonisation").ID, "in_labs", "")
	join(in, newcomer("Cardiff", "decarbonisation").ID, "in_labs", "")
	join(in, newcomer("Cardiff", "wellbeing").ID, "completed", "completed")
	erased := newcomer("Newport", "wellbeing")
	join(in, erased.ID, "withdrawn", "withdrawn")
	_, err := s.ErasePerson(ctx, erased.ID, base)
	must(t, err)
	join(in, uuid.New(), "submitted", "") // nobody the store knows
	join(other, newcomer("Cardiff", "decarbonisation").ID, "in_labs", "")

	tally := func(intake uuid.UUID) map[store.Tally]bool {
		t.Helper()
		got, err := s.TallyJourneys(ctx, intake)
		must(t, err)
		set := map[store.Tally]bool{}
		for _, g := range got {
			if set[g] {
				t.Errorf("TallyJourneys has %+v twice", g)
			}
			set[g] = true
		}
		return set
	}
	want := map[store.Tally]bool{
		{LocalAuthority: "Cardiff", Theme: "decarbonisation", State: "in_labs", Journeys: 2}:                   true,
		{LocalAuthority: "Cardiff", Theme: "wellbeing", State: "completed", Outcome: "completed", Journeys: 1}: true,
		{LocalAuthority: "Newport", Theme: "wellbeing", State: "withdrawn", Outcome: "withdrawn", Journeys: 1}: true,
		{State: "submitted", Journeys: 1}: true,
	}
	if got := tally(in.ID); !maps.Equal(got, want) {
		t.Errorf("TallyJourneys = %v, want %v", got, want)
	}
	if got := tally(uuid.Nil); !got[store.Tally{LocalAuthority: "Cardiff", Theme: "decarbonisation", State: "in_labs", Journeys: 3}] || len(got) != 4 {
		t.Errorf("TallyJourneys of every intake = %v, want both intakes' three Cardiff journeys in labs together", got)
	}
	if got := tally(uuid.New()); len(got) != 0 {
		t.Errorf("TallyJourneys of no intake = %v, want none", got)
	}
}

func testProjections(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	other := newIntake(t, s)
	states := []contract.Status{"lab", "lab", "offered", "withdrawn", "lab"}
	var want []store.JourneySnapshot
	for i, state := range states {
		journey := uuid.New()
		snap := snapshot(in, journey, uuid.New(), "submitted")
		_, err := s.Record(ctx, journeyEvent(in, journey, fmt.Sprintf("%s/1", journey), "application.submitted", snap))
		must(t, err)
		snap = snapshot(in, journey, snap.PersonID, state)
		if state == "withdrawn" {
			snap.Outcome = "withdrawn"
		} else {
			snap.NextDueItem = fmt.Sprintf("item-%d", i)
			snap.NextDueAt = base.Add(time.Duration(i) * time.Hour)
		}
		_, err = s.Record(ctx, journeyEvent(in, journey, fmt.Sprintf("%s/2", journey), "moved", snap))
		must(t, err)
		want = append(want, *snap)
	}
	oj := uuid.New()
	_, err := s.Record(ctx, journeyEvent(other, oj, "other", "application.submitted", snapshot(other, oj, uuid.New(), "submitted")))
	must(t, err)

	list, err := s.ListJourneys(ctx, in.ID)
	must(t, err)
	if len(list) != len(want) {
		t.Fatalf("ListJourneys = %d journeys, want %d", len(list), len(want))
	}
	byID := map[uuid.UUID]store.JourneySnapshot{}
	for i, j := range list {
		if i > 0 && bytes.Compare(list[i-1].JourneyID[:], j.JourneyID[:]) >= 0 {
			t.Errorf("ListJourneys not ordered by journey ID")
		}
		byID[j.JourneyID] = j
	}
	for _, w := range want {
		sameSnapshot(t, "ListJourneys entry", byID[w.JourneyID], w)
		g, err := s.GetJourney(ctx, w.JourneyID)
		must(t, err)
		sameSnapshot(t, "GetJourney", g, w)
	}
	counts, err := s.IntakeCounts(ctx, in.ID)
	must(t, err)
	if w := map[string]int{"lab": 3, "offered": 1, "withdrawn": 1}; !maps.Equal(counts, w) {
		t.Errorf("IntakeCounts = %v, want %v", counts, w)
	}
	counts, err = s.IntakeCounts(ctx, other.ID)
	must(t, err)
	if w := map[string]int{"submitted": 1}; !maps.Equal(counts, w) {
		t.Errorf("IntakeCounts(other) = %v, want %v", counts, w)
	}
	// An event without a snapshot leaves the projection alone.
	_, err = s.Record(ctx, journeyEvent(in, want[0].JourneyID, "no-snapshot", "note.added", nil))
	must(t, err)
	g, err := s.GetJourney(ctx, want[0].JourneyID)
	must(t, err)
	sameSnapshot(t, "journey after an event without snapshot", g, want[0])
}

// testStaleSnapshotIgnored: a projection row only moves forward in the log.
func testStaleSnapshotIgnored(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	_, err := s.Record(ctx, journeyEvent(in, journey, "1", "t", snapshot(in, journey, person, "lab")))
	must(t, err)
	_, err = s.Record(ctx, journeyEvent(in, journey, "2", "t", snapshot(in, journey, person, "experimentation")))
	must(t, err)
	// A retry of event 1 arrives late: nothing changes.
	ok, err := s.Record(ctx, journeyEvent(in, journey, "1", "t", snapshot(in, journey, person, "lab")))
	must(t, err)
	if ok {
		t.Error("late retry was recorded")
	}
	j, err := s.GetJourney(ctx, journey)
	must(t, err)
	if j.State != "experimentation" {
		t.Errorf("state = %q, want %q", j.State, "experimentation")
	}
}

func testRebuildProjections(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	wiper, ok := s.(ProjectionWiper)
	if !ok {
		t.Fatalf("%T does not implement storetest.ProjectionWiper; add WipeProjections in the backend's _test.go", s)
	}
	in := newIntake(t, s)
	quiet := newIntake(t, s) // no status events: keeps its created status
	_, err := s.Record(ctx, store.Event{Key: "started", IntakeID: in.ID, Type: "intake.started", IntakeStatus: store.IntakeStarted})
	must(t, err)
	for i := range 4 {
		journey, person, coach := uuid.New(), uuid.New(), uuid.New()
		for k, state := range []contract.Status{"submitted", "offered", "lab", "experimentation"}[:i+1] {
			snap := snapshot(in, journey, person, state)
			if k > 0 {
				snap.CoachID = coach
				snap.Phase = fmt.Sprintf("phase-%d", k)
				snap.NextDueItem = fmt.Sprintf("item-%d", k)
				snap.NextDueAt = base.Add(time.Duration(k) * 24 * time.Hour)
				snap.OverdueCount = k
			}
			_, err := s.Record(ctx, journeyEvent(in, journey, fmt.Sprintf("%s/%d", journey, k), "moved", snap))
			must(t, err)
			// Events without snapshots must not hide the latest snapshot.
			_, err = s.Record(ctx, journeyEvent(in, journey, fmt.Sprintf("%s/%d/note", journey, k), "note", nil))
			must(t, err)
		}
	}
	type projection struct {
		journeys     []store.JourneySnapshot
		counts       map[string]int
		status       store.IntakeStatus
		quietStatus  store.IntakeStatus
		journeyByGet map[uuid.UUID]store.JourneySnapshot
	}
	read := func() projection {
		t.Helper()
		var p projection
		var err error
		p.journeys, err = s.ListJourneys(ctx, in.ID)
		must(t, err)
		p.counts, err = s.IntakeCounts(ctx, in.ID)
		must(t, err)
		got, err := s.GetIntake(ctx, in.ID)
		must(t, err)
		p.status = got.Status
		got, err = s.GetIntake(ctx, quiet.ID)
		must(t, err)
		p.quietStatus = got.Status
		p.journeyByGet = map[uuid.UUID]store.JourneySnapshot{}
		for _, j := range p.journeys {
			g, err := s.GetJourney(ctx, j.JourneyID)
			must(t, err)
			p.journeyByGet[j.JourneyID] = g
		}
		return p
	}
	before := read()
	if len(before.journeys) != 4 || before.status != store.IntakeStarted || before.quietStatus != store.IntakeOpen {
		t.Fatalf("unexpected projection before rebuild: %+v", before)
	}

	must(t, wiper.WipeProjections(ctx))
	wiped, err := s.ListJourneys(ctx, in.ID)
	must(t, err)
	if len(wiped) != 0 {
		t.Fatalf("WipeProjections left %d journeys", len(wiped))
	}
	must(t, s.RebuildProjections(ctx))
	after := read()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("projection after rebuild differs:\nbefore %+v\nafter  %+v", before, after)
	}
	// Rebuilding again changes nothing; recording afterwards still works.
	must(t, s.RebuildProjections(ctx))
	if again := read(); !reflect.DeepEqual(before, again) {
		t.Errorf("second rebuild changed the projection")
	}
	j := before.journeys[0]
	next := j
	next.State = "completed"
	next.Outcome = "completed"
	ok, err = s.Record(ctx, journeyEvent(in, j.JourneyID, "after-rebuild", "completed", &next))
	must(t, err)
	if !ok {
		t.Fatal("Record after rebuild returned false")
	}
	g, err := s.GetJourney(ctx, j.JourneyID)
	must(t, err)
	sameSnapshot(t, "journey after rebuild and a new event", g, next)
}

// testJourneyCheckpoints: a snapshot's checkpoints come back from the
// event log and from JourneysOfCoach (the coach's inbox reads them there
// instead of asking each workflow): "none left" stays known and empty, a
// snapshot without them (as recorded before they were carried) reads as
// unknown, the latest snapshot's win, and a rebuild from the log keeps them.
func testJourneyCheckpoints(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	wiper, ok := s.(ProjectionWiper)
	if !ok {
		t.Fatalf("%T does not implement storetest.ProjectionWiper; add WipeProjections in the backend's _test.go", s)
	}
	in := newIntake(t, s)
	coach := uuid.New()
	seq := 0
	record := func(journey uuid.UUID, known bool, cs ...store.Checkpoint) store.JourneySnapshot {
		t.Helper()
		seq++
		snap := snapshot(in, journey, uuid.New(), "experimentation")
		snap.CoachID, snap.Checkpoints, snap.CheckpointsKnown = coach, cs, known
		_, err := s.Record(ctx, journeyEvent(in, journey, fmt.Sprintf("%s/%d", journey, seq), "moved", snap))
		must(t, err)
		evs, err := s.JourneyEvents(ctx, journey)
		must(t, err)
		sameSnapshot(t, "the event log's snapshot", *evs[len(evs)-1].Snapshot, *snap)
		return *snap
	}
	cp := func(n int) store.Checkpoint {
		return store.Checkpoint{ID: fmt.Sprintf("checkpoint/%d", n),
			OpensAt: base.Add(time.Duration(n) * 7 * 24 * time.Hour), DueAt: base.Add(time.Duration(n)*7*24*time.Hour + 48*time.Hour)}
	}
	check := func(what string, want ...store.JourneySnapshot) {
		t.Helper()
		got, err := s.JourneysOfCoach(ctx, coach)
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("%s: JourneysOfCoach = %d journeys %+v, want %d", what, len(got), got, len(want))
		}
		for i := range want {
			sameSnapshot(t, fmt.Sprintf("%s: JourneysOfCoach[%d]", what, i), got[i], want[i])
		}
		caseload, err := s.Caseload(ctx, coach)
		must(t, err)
		if len(caseload) != len(want) {
			t.Fatalf("%s: Caseload = %d journeys %+v, want %d", what, len(caseload), caseload, len(want))
		}
		for i := range want {
			sameSnapshot(t, fmt.Sprintf("%s: Caseload[%d]", what, i), caseload[i].JourneySnapshot, want[i])
		}
	}
	open, none, old, forgotten := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	record(open, true, cp(1), cp(2), cp(3))
	o := record(open, true, cp(2), cp(3)) // checkpoint 1 completed
	n := record(none, true)
	ol := record(old, false)
	record(forgotten, true, cp(1))
	f := record(forgotten, false) // a later snapshot without them: unknown again
	if n.Checkpoints != nil || !n.CheckpointsKnown || ol.CheckpointsKnown {
		t.Fatalf("test set-up: %+v, %+v", n, ol)
	}
	check("recorded", o, n, ol, f)
	got, err := s.JourneysOfCoach(ctx, coach)
	must(t, err)
	if !got[1].CheckpointsKnown || got[2].CheckpointsKnown || got[3].CheckpointsKnown {
		t.Errorf("JourneysOfCoach known = %v, %v, %v; want true (none left), false (old snapshot), false (latest without)",
			got[1].CheckpointsKnown, got[2].CheckpointsKnown, got[3].CheckpointsKnown)
	}

	must(t, wiper.WipeProjections(ctx))
	must(t, s.RebuildProjections(ctx))
	check("rebuilt from the log", o, n, ol, f)
}

// testCaseload: a coach's caseload names each journey's participant and
// intake in the one read: an erased participant keeps their authority and
// theme but no name or address, one not in the store is unknown, and
// another coach's journeys are not there.
func testCaseload(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	other.Name = "Cohort 2"
	must(t, s.UpdateIntake(ctx, other.ID, other.Name, other.Capacity))
	coach, otherCoach := newPerson(store.RoleCoach), newPerson(store.RoleCoach)
	a, erased := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	a.LocalAuthority, a.Theme = "Caerphilly", "data"
	erased.LocalAuthority, erased.Theme = "Newport", "wellbeing"
	must(t, s.CreatePeople(ctx, []store.Person{coach, otherCoach, a, erased}))
	n := 0
	join := func(in store.Intake, person, coach uuid.UUID) store.JourneySnapshot {
		t.Helper()
		n++
		journey := uuid.New()
		snap := snapshot(in, journey, person, "in_labs")
		snap.CoachID, snap.CheckpointsKnown = coach, true
		_, err := s.Record(ctx, journeyEvent(in, journey, fmt.Sprintf("%s/%d", journey, n), "journey.changed", snap))
		must(t, err)
		return *snap
	}
	want := []store.CaseloadEntry{
		{JourneySnapshot: join(in, a.ID, coach.ID), IntakeName: in.Name, ParticipantEmail: a.EmailAddress,
			Participant: store.Listed{Known: true, GivenName: a.GivenName, FamilyName: a.FamilyName, LocalAuthority: "Caerphilly", Theme: "data"}},
		{JourneySnapshot: join(other, erased.ID, coach.ID), IntakeName: other.Name,
			Participant: store.Listed{Known: true, LocalAuthority: "Newport", Theme: "wellbeing", Erased: true}},
		{JourneySnapshot: join(in, uuid.New(), coach.ID), IntakeName: in.Name},
	}
	join(in, a.ID, otherCoach.ID)
	_, err := s.ErasePerson(ctx, erased.ID, base)
	must(t, err)

	got, err := s.Caseload(ctx, coach.ID)
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("Caseload = %d journeys %+v, want %d (the coach's, oldest first)", len(got), got, len(want))
	}
	for i, g := range got {
		w := want[i]
		sameSnapshot(t, fmt.Sprintf("Caseload[%d]", i), g.JourneySnapshot, w.JourneySnapshot)
		if g.IntakeName != w.IntakeName || g.Participant != w.Participant || g.ParticipantEmail != w.ParticipantEmail {
			t.Errorf("Caseload[%d] = %q, %+v, %q; want %q, %+v, %q", i,
				g.IntakeName, g.Participant, g.ParticipantEmail, w.IntakeName, w.Participant, w.ParticipantEmail)
		}
	}
	if none, err := s.Caseload(ctx, uuid.New()); err != nil || len(none) != 0 {
		t.Errorf("Caseload of nobody = %v, %v; want none", none, err)
	}
}

// A roster narrowed by state, the participant's authority or theme (an
// erased participant's kept), coach or an item overdue lists only the
// intake's journeys that match every field set, in the roster's order,
// page by page as a whole roster is.
func testRosterFiltered(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	nia, huw := newPerson(store.RoleCoach), newPerson(store.RoleCoach)
	people := make([]store.Person, 5)
	for i, place := range [][2]string{{"Cardiff", "communities"}, {"Cardiff", "decarbonisation"}, {"Newport", "communities"},
		{"Cardiff", "communities"}, {"Cardiff", "communities"}} {
		people[i] = newPerson(store.RoleParticipant)
		people[i].GivenName, people[i].LocalAuthority, people[i].Theme = fmt.Sprintf("P%d", i), place[0], place[1]
	}
	must(t, s.CreatePeople(ctx, append(people, nia, huw)))
	journeys := make([]uuid.UUID, len(people))
	for i, j := range []struct {
		in      store.Intake
		state   contract.Status
		coach   uuid.UUID
		overdue int
	}{
		{in, "in_labs", nia.ID, 1}, {in, "in_labs", nia.ID, 0}, {in, "in_labs", huw.ID, 2}, {in, "withdrawn", nia.ID, 0}, {other, "in_labs", nia.ID, 3},
	} {
		journeys[i] = uuid.New()
		snap := snapshot(j.in, journeys[i], people[i].ID, j.state)
		snap.CoachID, snap.OverdueCount = j.coach, j.overdue
		_, err := s.Record(ctx, journeyEvent(j.in, journeys[i], journeys[i].String()+"/1", "journey.changed", snap))
		must(t, err)
	}
	_, err := s.ErasePerson(ctx, people[2].ID, base)
	must(t, err)
	listed := func(page store.RosterPage) []uuid.UUID {
		var out []uuid.UUID
		for _, e := range rosterPage(t, s, in.ID, page) {
			out = append(out, e.JourneyID)
		}
		return out
	}
	for _, c := range []struct {
		what string
		only store.RosterFilter
		want []uuid.UUID
	}{
		{"in the labs", store.RosterFilter{State: "in_labs"}, journeys[:3]},
		{"of Cardiff", store.RosterFilter{LocalAuthority: "Cardiff"}, []uuid.UUID{journeys[0], journeys[1], journeys[3]}},
		{"of the erased participant's authority", store.RosterFilter{LocalAuthority: "Newport"}, journeys[2:3]},
		{"on communities", store.RosterFilter{Theme: "communities"}, []uuid.UUID{journeys[0], journeys[2], journeys[3]}},
		{"coached by Huw", store.RosterFilter{CoachID: huw.ID}, journeys[2:3]},
		{"overdue", store.RosterFilter{Overdue: true}, []uuid.UUID{journeys[0], journeys[2]}},
		{"coached by Nia, in the labs, in Cardiff", store.RosterFilter{CoachID: nia.ID, State: "in_labs", LocalAuthority: "Cardiff"}, journeys[:2]},
		{"of no one", store.RosterFilter{Theme: "nothing"}, nil},
	} {
		got := listed(store.RosterPage{Only: c.only})
		if !sameIDs(got, c.want) {
			t.Errorf("roster %s: %v, want %v", c.what, got, c.want)
		}
		// A page at a time, the same journeys.
		var paged []uuid.UUID
		page := store.RosterPage{Only: c.only, Limit: 1}
		for range 10 {
			next := listed(page)
			if len(next) == 0 {
				break
			}
			paged = append(paged, next...)
			page.After = next[0]
		}
		if !sameIDs(paged, got) {
			t.Errorf("roster %s a page at a time: %v, want %v", c.what, paged, got)
		}
	}
}

// sameIDs says whether a and b hold the same IDs, in any order.
func sameIDs(a, b []uuid.UUID) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[uuid.UUID]int{}
	for _, id := range a {
		seen[id]++
	}
	for _, id := range b {
		seen[id]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
