package storetest

// People: creating, reading, finding and listing them (the only personal data).

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

func testPeopleRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	a, b, c := newPerson(store.RoleParticipant), newPerson(store.RoleCoach), newPerson(store.RoleParticipant)
	b.Language, b.Theme = store.LanguageUnknown, ""
	c.Language = store.LanguageEnglish
	c.CreatedAt = time.Time{} // the store sets it
	before := time.Now()
	must(t, s.CreatePeople(ctx, []store.Person{a, b, c}))
	must(t, s.CreatePeople(ctx, nil)) // an empty batch is fine

	for _, want := range []store.Person{a, b} {
		got, err := s.GetPerson(ctx, want.ID)
		must(t, err)
		samePerson(t, got, want)
	}
	gotC, err := s.GetPerson(ctx, c.ID)
	must(t, err)
	recentTime(t, "defaulted CreatedAt", gotC.CreatedAt, before)
	c.CreatedAt = gotC.CreatedAt
	samePerson(t, gotC, c)

	parts, err := s.ListPeople(ctx, store.RoleParticipant)
	must(t, err)
	if len(parts) != 2 || parts[0].ID != a.ID || parts[1].ID != c.ID {
		t.Errorf("ListPeople(participant) = %v, want %s then %s (by creation)", ids(parts), a.ID, c.ID)
	}
	coaches, err := s.ListPeople(ctx, store.RoleCoach)
	must(t, err)
	if len(coaches) != 1 || coaches[0].ID != b.ID {
		t.Errorf("ListPeople(coach) = %v, want [%s]", ids(coaches), b.ID)
	}
	everyone, err := s.ListPeople(ctx, "")
	must(t, err)
	if len(everyone) != 3 {
		t.Errorf("ListPeople(\"\") = %v, want all three", ids(everyone))
	}
	none, err := s.ListPeople(ctx, store.RoleCoordinator)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("ListPeople(coordinator) = %v, want none", ids(none))
	}
}

func ids(people []store.Person) []uuid.UUID {
	var out []uuid.UUID
	for _, p := range people {
		out = append(out, p.ID)
	}
	return out
}

func testPeopleValidation(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	for _, tc := range []struct {
		name   string
		mutate func(*store.Person)
		says   string
	}{
		{"no ID", func(p *store.Person) { p.ID = uuid.Nil }, "ID"},
		{"bad role", func(p *store.Person) { p.Role = "mentor" }, "role"},
		{"no e-mail", func(p *store.Person) { p.EmailAddress = "" }, "e-mail"},
		{"bad e-mail", func(p *store.Person) { p.EmailAddress = "not an address" }, "e-mail"},
		{"display name", func(p *store.Person) { p.EmailAddress = "Siân <sian@example.org>" }, "e-mail"},
		{"bad language", func(p *store.Person) { p.Language = "fr" }, "language"},
	} {
		ok := newPerson(store.RoleParticipant)
		bad := newPerson(store.RoleParticipant)
		tc.mutate(&bad)
		err := s.CreatePeople(ctx, []store.Person{ok, bad})
		errContains(t, tc.name, err, "person 1", bad.ID.String(), tc.says)
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: error %v is not store.ErrInvalid", tc.name, err)
		}
		_, err = s.GetPerson(ctx, ok.ID)
		mustNotFound(t, tc.name+": valid person of a rejected batch", err)
	}
}

func testPeopleAllOrNothing(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	existing := newPerson(store.RoleCoordinator)
	must(t, s.CreatePeople(ctx, []store.Person{existing}))

	// Two people of one batch share an address (differing only in case).
	a, b := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	b.EmailAddress = strings.ToUpper(a.EmailAddress)
	err := s.CreatePeople(ctx, []store.Person{a, b})
	errContains(t, "duplicate e-mail in batch", err, "person 1", b.ID.String(), "e-mail")

	// Same ID twice in a batch.
	c := newPerson(store.RoleParticipant)
	c2 := c
	c2.EmailAddress = "other." + c.EmailAddress
	err = s.CreatePeople(ctx, []store.Person{c, c2})
	errContains(t, "duplicate ID in batch", err, "person 1", c.ID.String())

	// A stored ID with different details: only the database can tell.
	d := newPerson(store.RoleParticipant)
	changed := existing
	changed.FamilyName = "Someone-Else"
	err = s.CreatePeople(ctx, []store.Person{d, changed})
	errContains(t, "existing ID, different details", err, "person 1", existing.ID.String())
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("existing ID, different details: error %v is not store.ErrConflict", err)
	}

	// A stored e-mail address under a new ID, differing only in case.
	e, f := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	f.EmailAddress = strings.ToUpper(existing.EmailAddress)
	err = s.CreatePeople(ctx, []store.Person{e, f})
	errContains(t, "existing e-mail", err, "person 1", f.ID.String(), "e-mail")
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("existing e-mail: error %v is not store.ErrConflict", err)
	}

	for _, p := range []store.Person{a, b, c, d, e, f} {
		_, err := s.GetPerson(ctx, p.ID)
		mustNotFound(t, "person of a rejected batch", err)
	}
	got, err := s.GetPerson(ctx, existing.ID)
	must(t, err)
	samePerson(t, got, existing)
	all, err := s.ListPeople(ctx, "")
	must(t, err)
	if len(all) != 1 {
		t.Errorf("after rejected batches there are %d people, want 1", len(all))
	}
}

func testPeopleIdempotent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	a, b := newPerson(store.RoleParticipant), newPerson(store.RoleCoach)
	must(t, s.CreatePeople(ctx, []store.Person{a}))
	// A retried batch that also carries a new person: a is left as is, b added.
	again := a
	again.CreatedAt = time.Time{}
	must(t, s.CreatePeople(ctx, []store.Person{again, b}))
	got, err := s.GetPerson(ctx, a.ID)
	must(t, err)
	samePerson(t, got, a)
	_, err = s.GetPerson(ctx, b.ID)
	must(t, err)
	all, err := s.ListPeople(ctx, "")
	must(t, err)
	if len(all) != 2 {
		t.Errorf("ListPeople = %v, want 2 people", ids(all))
	}
}

func testFindPersonByEmail(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	p := newPerson(store.RoleParticipant)
	p.EmailAddress = "Dafydd.ap.Gwilym@Newport.gov.uk"
	must(t, s.CreatePeople(ctx, []store.Person{p}))
	for _, q := range []string{p.EmailAddress, "dafydd.ap.gwilym@newport.gov.uk", "DAFYDD.AP.GWILYM@NEWPORT.GOV.UK", " dafydd.ap.gwilym@newport.gov.uk "} {
		got, err := s.FindPersonByEmail(ctx, q)
		if err != nil {
			t.Errorf("FindPersonByEmail(%q): %v", q, err)
			continue
		}
		samePerson(t, got, p) // the address comes back as entered
	}
	_, err := s.FindPersonByEmail(ctx, "nobody@example.org")
	mustNotFound(t, "FindPersonByEmail(unknown)", err)
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	id := uuid.New()
	_, err := s.GetPerson(ctx, id)
	mustNotFound(t, "GetPerson", err)
	_, err = s.GetIntake(ctx, id)
	mustNotFound(t, "GetIntake", err)
	_, err = s.GetJourney(ctx, id)
	mustNotFound(t, "GetJourney", err)
	_, err = s.GetNote(ctx, id)
	mustNotFound(t, "GetNote", err)

	evs, err := s.JourneyEvents(ctx, id)
	must(t, err)
	if len(evs) != 0 {
		t.Errorf("JourneyEvents(unknown) = %d events", len(evs))
	}
	js, err := s.ListJourneys(ctx, id)
	must(t, err)
	if len(js) != 0 {
		t.Errorf("ListJourneys(unknown) = %d journeys", len(js))
	}
	counts, err := s.IntakeCounts(ctx, id)
	must(t, err)
	if len(counts) != 0 {
		t.Errorf("IntakeCounts(unknown) = %v", counts)
	}
}
