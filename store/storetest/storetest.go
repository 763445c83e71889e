// Package storetest is the conformance suite every store.Store backend must
// pass. It pins down what the rest of the system relies on — all-or-nothing
// batches, exactly-once recording under retries and concurrency, projections
// that can be rebuilt from the log, UTC times — so that PostgreSQL and SQLite
// behave the same and a third backend knows what "done" means.
//
// A backend's own _test.go calls Run:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return OpenTest(t) })
//	}
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
)

// ProjectionWiper is implemented, in a backend's _test.go files, by stores
// whose projections the suite can wipe. Run requires it: it is how the suite
// proves RebuildProjections works from the event log alone. WipeProjections
// must delete every journey row, journey item and journey end, and set every intake's status to "draft".
type ProjectionWiper interface {
	WipeProjections(ctx context.Context) error
}

// BareAppender is implemented, in a backend's _test.go files, by stores to
// which the suite can append an event as an earlier release's Record did
// (the events row alone, none of this release's code): what the database
// itself keeps of it, it keeps whoever appends. Run requires it.
type BareAppender interface {
	AppendBare(ctx context.Context, ev store.Event) error
}

// Run runs the conformance suite. open must return a new, empty store that
// is closed when the test ends; it is called once per subtest, and subtests
// run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PeopleRoundTrip", testPeopleRoundTrip},
		{"PeopleValidation", testPeopleValidation},
		{"PeopleAllOrNothing", testPeopleAllOrNothing},
		{"PeopleIdempotent", testPeopleIdempotent},
		{"FindPersonByEmail", testFindPersonByEmail},
		{"NotFound", testNotFound},
		{"Intakes", testIntakes},
		{"UpdateIntake", testUpdateIntake},
		{"Record", testRecord},
		{"RecordSameKey", testRecordSameKey},
		{"RecordSameKeyConcurrent", testRecordSameKeyConcurrent},
		{"RecordConcurrentWriters", testRecordConcurrentWriters},
		{"RecordValidation", testRecordValidation},
		{"MessageKeyNotQueuedTwice", testMessageKeyNotQueuedTwice},
		{"FenceReplacesFailedAttempt", testFenceReplacesFailedAttempt},
		{"FenceReprojectsJourney", testFenceReprojectsJourney},
		{"FenceDropsQueuedMessages", testFenceDropsQueuedMessages},
		{"FenceJourneyFacts", testFenceJourneyFacts},
		{"FenceIntakeStatus", testFenceIntakeStatus},
		{"FenceStaleAttempt", testFenceStaleAttempt},
		{"FenceSameEventAgain", testFenceSameEventAgain},
		{"FenceUnfencedAlongside", testFenceUnfencedAlongside},
		{"FenceConcurrent", testFenceConcurrent},
		{"FenceValidation", testFenceValidation},
		{"EventsOrdered", testEventsOrdered},
		{"Projections", testProjections},
		{"Roster", testRoster},
		{"RosterPages", RosterPages},
		{"TallyJourneys", testTallyJourneys},
		{"JourneyOutcomes", testJourneyOutcomes},
		{"StaleSnapshotIgnored", testStaleSnapshotIgnored},
		{"RebuildProjections", testRebuildProjections},
		{"JourneyCheckpoints", testJourneyCheckpoints},
		{"Caseload", testCaseload},
		{"ListMessagesFilters", testListMessagesFilters},
		{"MessageItemFields", testMessageItemFields},
		{"DueMessages", testDueMessages},
		{"DueMessagesRecipientOrder", testDueMessagesRecipientOrder},
		{"MarkSent", testMarkSent},
		{"SentEmails", testSentEmails},
		{"MarkRetryAndFailed", testMarkRetryAndFailed},
		{"Defer", testDefer},
		{"ClaimsExclude", testClaimsExclude},
		{"ClaimLeaseExpires", testClaimLeaseExpires},
		{"ClaimOrderAcrossClaimants", testClaimOrderAcrossClaimants},
		{"MarkingReleasesClaims", testMarkingReleasesClaims},
		{"ClaimConcurrent", testClaimConcurrent},
		{"Notes", testNotes},
		{"CertificateIssue", testCertificateIssue},
		{"CertificateIssueConcurrent", testCertificateIssueConcurrent},
		{"CertificateVerify", testCertificateVerify},
		{"APITokens", testAPITokens},
		{"SignInLinks", testSignInLinks},
		{"SignInLinkConcurrent", testSignInLinkConcurrent},
		{"WebSessions", testWebSessions},
		{"APITokenExpiryAndUse", testAPITokenExpiryAndUse},
		{"SignInLinksUpTo", testSignInLinksUpTo},
		{"IdempotencyKeys", testIdempotencyKeys},
		{"ErasureLeavesNoTrace", testErasureLeavesNoTrace},
		{"IdempotencyTakeover", testIdempotencyTakeover},
		{"IdempotencyForget", testIdempotencyForget},
		{"IdempotencyKeyConcurrent", testIdempotencyKeyConcurrent},
		{"JourneysOfPeople", testJourneysOfPeople},
		{"NotesOfJourney", testNotesOfJourney},
		{"SetLanguage", testSetLanguage},
		{"ErasePerson", testErasePerson},
		{"Ping", testPing},
		{"OpsStats", testOpsStats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// testPing: a health check sees an open store answer and a closed one fail.
func testPing(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	s.Close()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping on a closed store succeeded; a health check would report a dead store as healthy")
	}
}

// ---- helpers -----------------------------------------------------------------

// bst is British Summer Time, so tests hand the store non-UTC times.
var bst = time.FixedZone("BST", 60*60)

// base is a fixed instant with sub-microsecond digits, to check truncation.
var base = time.Date(2021, 10, 1, 9, 30, 15, 123456789, bst)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sameTime fails unless got is in UTC and equals want to the microsecond.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want the zero time", what, got)
		}
		return
	}
	if got.Location() != time.UTC {
		t.Errorf("%s = %v is in %v, want UTC", what, got, got.Location())
	}
	if w := want.Truncate(time.Microsecond); !got.Truncate(time.Microsecond).Equal(w) {
		t.Errorf("%s = %v, want %v", what, got, w.UTC())
	}
}

func recentTime(t *testing.T, what string, got time.Time, since time.Time) {
	t.Helper()
	if got.Location() != time.UTC {
		t.Errorf("%s = %v is in %v, want UTC", what, got, got.Location())
	}
	if got.Before(since.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("%s = %v, want about now (%v)", what, got, since)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: got error %v, want store.ErrNotFound", what, err)
	}
}

func errContains(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one mentioning %q", what, parts)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not mention %q", what, err, p)
		}
	}
}

var personN int
var personMu sync.Mutex

func newPerson(role store.Role) store.Person {
	personMu.Lock()
	personN++
	n := personN
	personMu.Unlock()
	return store.Person{
		ID:             uuid.New(),
		Role:           role,
		GivenName:      "Siân",
		FamilyName:     fmt.Sprintf("Llywelyn-%d", n),
		EmailAddress:   fmt.Sprintf("sian.llywelyn%d@Caerphilly.gov.uk", n),
		LocalAuthority: "Caerphilly",
		Theme:          "decarbonisation",
		Language:       store.LanguageWelsh,
		CreatedAt:      base.Add(time.Duration(n) * time.Second),
	}
}

func samePerson(t *testing.T, got, want store.Person) {
	t.Helper()
	sameTime(t, "person CreatedAt", got.CreatedAt, want.CreatedAt)
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("person = %+v\nwant       %+v", got, want)
	}
}

func newIntake(t *testing.T, s store.Store) store.Intake {
	t.Helper()
	in := store.Intake{
		ID:               uuid.New(),
		Name:             "Cohort 1",
		ProgrammeID:      "infuse",
		ProgrammeVersion: 1,
		OpensAt:          time.Date(2021, 8, 1, 9, 0, 0, 0, bst),
		ClosesAt:         time.Date(2021, 9, 13, 23, 59, 59, 999999999, bst),
		StartsOn:         time.Date(2021, 10, 1, 0, 0, 0, 0, bst),
		Capacity:         20,
		CoordinatorID:    uuid.New(),
		Status:           store.IntakeOpen,
	}
	must(t, s.CreateIntake(ctxFor(t), in))
	return in
}

func snapshot(in store.Intake, journey, person uuid.UUID, state string) *store.JourneySnapshot {
	return &store.JourneySnapshot{
		JourneyID: journey,
		IntakeID:  in.ID,
		PersonID:  person,
		State:     state,
	}
}

func journeyEvent(in store.Intake, journey uuid.UUID, key, typ string, snap *store.JourneySnapshot) store.Event {
	return store.Event{
		Key:        key,
		IntakeID:   in.ID,
		JourneyID:  journey,
		Type:       typ,
		OccurredAt: base,
		Data:       json.RawMessage(`{"item": "adaption-1", "n": 1}`),
		Snapshot:   snap,
	}
}

func message(in store.Intake, journey uuid.UUID, key string, sendAt time.Time) store.Message {
	return store.Message{
		Key:         key,
		IntakeID:    in.ID,
		JourneyID:   journey,
		RecipientID: uuid.New(),
		Role:        store.RoleParticipant,
		Template:    "session.reminder.7d",
		ItemID:      "adaption-1",
		Channel:     "email",
		SendAt:      sendAt,
	}
}

func sameSnapshot(t *testing.T, what string, got, want store.JourneySnapshot) {
	t.Helper()
	sameTime(t, what+" NextDueAt", got.NextDueAt, want.NextDueAt)
	if len(got.Checkpoints) != len(want.Checkpoints) {
		t.Errorf("%s Checkpoints = %+v\nwant %+v", what, got.Checkpoints, want.Checkpoints)
	} else {
		for i, g := range got.Checkpoints {
			w := want.Checkpoints[i]
			if g.ID != w.ID {
				t.Errorf("%s Checkpoints[%d] = %q, want %q", what, i, g.ID, w.ID)
			}
			sameTime(t, fmt.Sprintf("%s Checkpoints[%d] OpensAt", what, i), g.OpensAt, w.OpensAt)
			sameTime(t, fmt.Sprintf("%s Checkpoints[%d] DueAt", what, i), g.DueAt, w.DueAt)
		}
	}
	// The times and checkpoints are compared above (a slice makes a
	// snapshot incomparable with ==); the rest must be equal.
	got.NextDueAt, want.NextDueAt = time.Time{}, time.Time{}
	got.Checkpoints, want.Checkpoints = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v\nwant %+v", what, got, want)
	}
}

// ---- people ----------------------------------------------------------------

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

// ---- intakes ---------------------------------------------------------------

func testIntakes(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	first := newIntake(t, s)
	second := store.Intake{ // minimal: no dates yet, status defaults to draft
		ID:   uuid.New(),
		Name: "Cohort 2",
	}
	before := time.Now()
	must(t, s.CreateIntake(ctx, second))

	got, err := s.GetIntake(ctx, first.ID)
	must(t, err)
	sameIntake(t, got, first)
	recentTime(t, "intake CreatedAt", got.CreatedAt, before.Add(-time.Minute))

	got2, err := s.GetIntake(ctx, second.ID)
	must(t, err)
	if got2.Status != store.IntakeDraft {
		t.Errorf("intake created without status has status %q, want %q", got2.Status, store.IntakeDraft)
	}
	if !got2.OpensAt.IsZero() || !got2.StartsOn.IsZero() || got2.CoordinatorID != uuid.Nil {
		t.Errorf("minimal intake came back with dates or coordinator: %+v", got2)
	}

	// Creating the same intake again is a no-op; with other details, a conflict.
	must(t, s.CreateIntake(ctx, first))
	changed := first
	changed.Capacity = 25
	err = s.CreateIntake(ctx, changed)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateIntake with changed details: got %v, want store.ErrConflict", err)
	}
	err = s.CreateIntake(ctx, store.Intake{ID: uuid.New()})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CreateIntake without a name: got %v, want store.ErrInvalid", err)
	}

	list, err := s.ListIntakes(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("ListIntakes = %+v, want %s then %s", list, first.ID, second.ID)
	}
	sameIntake(t, list[0], first)
}

// testUpdateIntake: the name (trimmed) and capacity change and nothing
// else does; the same edit twice is fine; a bad edit changes nothing.
func testUpdateIntake(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	want := in
	want.Name, want.Capacity = "Carfan 1", 24
	for range 2 {
		must(t, s.UpdateIntake(ctx, in.ID, "  Carfan 1 ", 24))
		got, err := s.GetIntake(ctx, in.ID)
		must(t, err)
		sameIntake(t, got, want)
	}
	mustNotFound(t, "UpdateIntake(unknown intake)", s.UpdateIntake(ctx, uuid.New(), "Cohort 9", 10))
	for _, bad := range []struct {
		name     string
		capacity int
		problem  string
	}{
		{"   ", 24, "name is missing"},
		{strings.Repeat("n", store.MaxIntakeNameLength+1), 24, "longer than"},
		{"Cohort 1", -1, "negative"},
	} {
		err := s.UpdateIntake(ctx, in.ID, bad.name, bad.capacity)
		mustIs(t, fmt.Sprintf("UpdateIntake(%.20q, %d)", bad.name, bad.capacity), err, store.ErrInvalid)
		errContains(t, "UpdateIntake", err, bad.problem)
	}
	got, err := s.GetIntake(ctx, in.ID)
	must(t, err)
	sameIntake(t, got, want)
	got, err = s.GetIntake(ctx, other.ID)
	must(t, err)
	sameIntake(t, got, other)
}

func sameIntake(t *testing.T, got, want store.Intake) {
	t.Helper()
	sameTime(t, "OpensAt", got.OpensAt, want.OpensAt)
	sameTime(t, "ClosesAt", got.ClosesAt, want.ClosesAt)
	sameTime(t, "StartsOn", got.StartsOn, want.StartsOn)
	if !want.CreatedAt.IsZero() {
		sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	}
	got.OpensAt, got.ClosesAt, got.StartsOn, got.CreatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.OpensAt, want.ClosesAt, want.StartsOn, want.CreatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("intake = %+v\nwant     %+v", got, want)
	}
}

// ---- events ----------------------------------------------------------------

func testRecord(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person, coach := uuid.New(), uuid.New(), uuid.New()
	snap := snapshot(in, journey, person, "lab")
	snap.CoachID = coach
	snap.Phase = "lab-1"
	snap.NextDueItem = "adaption-2"
	snap.NextDueAt = base.Add(7 * 24 * time.Hour)
	snap.OverdueCount = 1
	ev := journeyEvent(in, journey, "journey/"+journey.String()+"/1", "session.attended", snap)
	ev.IntakeStatus = store.IntakeStarted
	m1 := message(in, journey, "journey/"+journey.String()+"/reminder/adaption-2/7d", base.Add(24*time.Hour))
	m2 := message(in, uuid.Nil, "journey/"+journey.String()+"/reminder/adaption-2/1d", base.Add(6*24*time.Hour))
	m2.Channel, m2.IntakeID = "", uuid.Nil // defaulted from the event
	before := time.Now()

	ok, err := s.Record(ctx, ev, m2, m1)
	must(t, err)
	if !ok {
		t.Fatal("Record of a new event returned false")
	}

	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("JourneyEvents = %d events, want 1", len(evs))
	}
	got := evs[0]
	if got.Seq <= 0 {
		t.Errorf("event Seq = %d, want > 0", got.Seq)
	}
	if got.Key != ev.Key || got.IntakeID != in.ID || got.JourneyID != journey || got.Type != ev.Type ||
		got.IntakeStatus != store.IntakeStarted {
		t.Errorf("event = %+v\nwant like %+v", got, ev)
	}
	if want := []byte(`{"item":"adaption-1","n":1}`); !bytes.Equal(got.Data, want) {
		t.Errorf("event Data = %s, want %s (compacted)", got.Data, want)
	}
	sameTime(t, "OccurredAt", got.OccurredAt, ev.OccurredAt)
	recentTime(t, "RecordedAt", got.RecordedAt, before)
	if got.Snapshot == nil {
		t.Fatal("event Snapshot is nil")
	}
	sameSnapshot(t, "event Snapshot", *got.Snapshot, *snap)

	j, err := s.GetJourney(ctx, journey)
	must(t, err)
	sameSnapshot(t, "journey projection", j, *snap)

	gotIn, err := s.GetIntake(ctx, in.ID)
	must(t, err)
	if gotIn.Status != store.IntakeStarted {
		t.Errorf("intake status = %q, want %q", gotIn.Status, store.IntakeStarted)
	}

	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if len(msgs) != 2 {
		t.Fatalf("ListMessages = %d messages, want 2", len(msgs))
	}
	// Ordered by SendAt: m1 first.
	gm1, gm2 := msgs[0], msgs[1]
	if gm1.Key != m1.Key || gm2.Key != m2.Key {
		t.Fatalf("messages in order %q, %q; want %q, %q (by SendAt)", gm1.Key, gm2.Key, m1.Key, m2.Key)
	}
	sameTime(t, "message SendAt", gm1.SendAt, m1.SendAt)
	recentTime(t, "message CreatedAt", gm1.CreatedAt, before)
	want := m1
	want.Status = store.MessageQueued
	want.SendAt, want.CreatedAt = gm1.SendAt, gm1.CreatedAt
	if gm1 != want {
		t.Errorf("message = %+v\nwant      %+v", gm1, want)
	}
	if gm2.Channel != "email" || gm2.IntakeID != in.ID || gm2.JourneyID != journey || gm2.Status != store.MessageQueued {
		t.Errorf("defaults not applied to message: %+v", gm2)
	}

	// An intake-level event: no journey, no snapshot, no data.
	ok, err = s.Record(ctx, store.Event{Key: "intake/" + in.ID.String() + "/closed", IntakeID: in.ID,
		Type: "intake.closed", IntakeStatus: store.IntakeClosed})
	must(t, err)
	if !ok {
		t.Error("Record of an intake-level event returned false")
	}
	ievs, err := s.IntakeEvents(ctx, in.ID)
	must(t, err)
	if len(ievs) != 2 || ievs[1].JourneyID != uuid.Nil || ievs[1].Snapshot != nil || ievs[1].Data != nil {
		t.Errorf("IntakeEvents = %+v, want the journey event then an intake-level one", ievs)
	}
	recentTime(t, "defaulted OccurredAt", ievs[1].OccurredAt, before)
	gotIn, err = s.GetIntake(ctx, in.ID)
	must(t, err)
	if gotIn.Status != store.IntakeClosed {
		t.Errorf("intake status = %q, want %q", gotIn.Status, store.IntakeClosed)
	}
}

func testRecordSameKey(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	ev := journeyEvent(in, journey, "journey/"+journey.String()+"/offer", "offer.made", snapshot(in, journey, person, "offered"))
	m := message(in, journey, "journey/"+journey.String()+"/offer/notice", base)

	ok, err := s.Record(ctx, ev, m)
	must(t, err)
	if !ok {
		t.Fatal("first Record returned false")
	}
	// The retry after a lost acknowledgement; even if the activity now
	// computes something different, the first recording stands.
	retry := ev
	retry.Snapshot = snapshot(in, journey, person, "withdrawn")
	retry.IntakeStatus = store.IntakeFinished
	m2 := m
	m2.Key = m.Key + "/other"
	ok, err = s.Record(ctx, retry, m, m2)
	must(t, err)
	if ok {
		t.Error("Record with a used key returned true")
	}

	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 1 {
		t.Errorf("JourneyEvents = %d events, want exactly 1", len(evs))
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if len(msgs) != 1 || msgs[0].Key != m.Key {
		t.Errorf("outbox = %+v, want exactly the first message", msgs)
	}
	j, err := s.GetJourney(ctx, journey)
	must(t, err)
	if j.State != "offered" {
		t.Errorf("journey state = %q, want %q (the retry must not apply)", j.State, "offered")
	}
	gotIn, err := s.GetIntake(ctx, in.ID)
	must(t, err)
	if gotIn.Status != in.Status {
		t.Errorf("intake status = %q, want %q (the retry must not apply)", gotIn.Status, in.Status)
	}
}

func testRecordSameKeyConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	ev := journeyEvent(in, journey, "journey/"+journey.String()+"/checkpoint/3", "checkpoint.completed",
		snapshot(in, journey, person, "experimentation"))
	m := message(in, journey, "journey/"+journey.String()+"/checkpoint/3/thanks", base)

	const n = 12
	var wg sync.WaitGroup
	results := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = s.Record(ctx, ev, m)
		}()
	}
	close(start)
	wg.Wait()
	recorded := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Record #%d: %v", i, errs[i])
		}
		if results[i] {
			recorded++
		}
	}
	if recorded != 1 {
		t.Errorf("%d of %d concurrent Records with one key returned true, want exactly 1", recorded, n)
	}
	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 1 {
		t.Errorf("JourneyEvents = %d events, want exactly 1", len(evs))
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if len(msgs) != 1 {
		t.Errorf("outbox has %d messages, want exactly 1", len(msgs))
	}
}

// testRecordConcurrentWriters is many activities recording at once, as a
// worker does: none may fail (SQLite must not report SQLITE_BUSY).
func testRecordConcurrentWriters(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	const journeys, eventsEach = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, journeys*eventsEach*2)
	ids := make([]uuid.UUID, journeys)
	for j := range journeys {
		ids[j] = uuid.New()
		wg.Add(1)
		go func(journey uuid.UUID) {
			defer wg.Done()
			person := uuid.New()
			for k := range eventsEach {
				key := fmt.Sprintf("journey/%s/%d", journey, k)
				snap := snapshot(in, journey, person, fmt.Sprintf("step-%d", k))
				ev := journeyEvent(in, journey, key, "step", snap)
				if ok, err := s.Record(ctx, ev, message(in, journey, key+"/msg", base)); err != nil || !ok {
					errs <- fmt.Errorf("Record %s = %v, %v", key, ok, err)
				}
				// Reads interleave with the writes.
				if _, err := s.GetJourney(ctx, journey); err != nil {
					errs <- fmt.Errorf("GetJourney during writes: %w", err)
				}
			}
		}(ids[j])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, journey := range ids {
		evs, err := s.JourneyEvents(ctx, journey)
		must(t, err)
		if len(evs) != eventsEach {
			t.Errorf("journey %s has %d events, want %d", journey, len(evs), eventsEach)
		}
		j, err := s.GetJourney(ctx, journey)
		must(t, err)
		if want := fmt.Sprintf("step-%d", eventsEach-1); j.State != want {
			t.Errorf("journey %s state = %q, want %q (its latest event)", journey, j.State, want)
		}
	}
	counts, err := s.IntakeCounts(ctx, in.ID)
	must(t, err)
	if want := (map[string]int{fmt.Sprintf("step-%d", eventsEach-1): journeys}); !maps.Equal(counts, want) {
		t.Errorf("IntakeCounts = %v, want %v", counts, want)
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{IntakeID: in.ID})
	must(t, err)
	if len(msgs) != journeys*eventsEach {
		t.Errorf("outbox has %d messages, want %d", len(msgs), journeys*eventsEach)
	}
}

func testRecordValidation(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	good := func() store.Event {
		return journeyEvent(in, journey, "k-"+uuid.NewString(), "t", snapshot(in, journey, uuid.New(), "lab"))
	}
	for _, tc := range []struct {
		name   string
		mutate func(*store.Event)
		msg    *store.Message
	}{
		{"no key", func(e *store.Event) { e.Key = "" }, nil},
		{"no intake", func(e *store.Event) { e.IntakeID = uuid.Nil }, nil},
		{"no type", func(e *store.Event) { e.Type = "" }, nil},
		{"bad data", func(e *store.Event) { e.Data = json.RawMessage(`{"a":`) }, nil},
		{"bad intake status", func(e *store.Event) { e.IntakeStatus = "paused" }, nil},
		{"snapshot of another journey", func(e *store.Event) { e.Snapshot.JourneyID = uuid.New() }, nil},
		{"snapshot without journey", func(e *store.Event) { e.JourneyID = uuid.Nil }, nil},
		{"message without recipient", func(*store.Event) {}, &store.Message{Key: "m-" + uuid.NewString(), Template: "x"}},
	} {
		ev := good()
		tc.mutate(&ev)
		var msgs []store.Message
		if tc.msg != nil {
			msgs = append(msgs, *tc.msg)
		}
		ok, err := s.Record(ctx, ev, msgs...)
		if ok || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: Record = %v, %v; want false, store.ErrInvalid", tc.name, ok, err)
		}
	}
	// An event for an intake the store does not know is refused.
	other := store.Intake{ID: uuid.New()}
	ok, err := s.Record(ctx, journeyEvent(other, journey, "unknown-intake", "t", nil))
	if ok || err == nil {
		t.Errorf("Record for an unknown intake = %v, %v; want an error", ok, err)
	}
	evs, err := s.IntakeEvents(ctx, in.ID)
	must(t, err)
	if len(evs) != 0 {
		t.Errorf("rejected events were recorded: %+v", evs)
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{})
	must(t, err)
	if len(msgs) != 0 {
		t.Errorf("messages of rejected events were queued: %+v", msgs)
	}
}

func testMessageKeyNotQueuedTwice(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	m := message(in, journey, "journey/"+journey.String()+"/reminder/data-1/1d", base)
	ok, err := s.Record(ctx, journeyEvent(in, journey, "e1", "reminder.planned", nil), m)
	must(t, err)
	if !ok {
		t.Fatal("Record e1 returned false")
	}
	// A different event (a reschedule, say) queues the same reminder again.
	later := m
	later.SendAt = base.Add(time.Hour)
	ok, err = s.Record(ctx, journeyEvent(in, journey, "e2", "session.rescheduled", nil), later, later)
	must(t, err)
	if !ok {
		t.Fatal("Record e2 returned false")
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{})
	must(t, err)
	if len(msgs) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(msgs))
	}
	sameTime(t, "SendAt", msgs[0].SendAt, m.SendAt) // the first one stands
	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 2 {
		t.Errorf("JourneyEvents = %d, want 2 (both events are recorded)", len(evs))
	}
}

func testEventsOrdered(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	other := newIntake(t, s)
	j1, j2 := uuid.New(), uuid.New()
	var keys []string
	record := func(in store.Intake, journey uuid.UUID, key string) {
		t.Helper()
		ev := journeyEvent(in, journey, key, "t", nil)
		// OccurredAt goes backwards: order is the order of recording.
		ev.OccurredAt = base.Add(-time.Duration(len(keys)) * time.Minute)
		ok, err := s.Record(ctx, ev)
		must(t, err)
		if !ok {
			t.Fatalf("Record %s returned false", key)
		}
		keys = append(keys, key)
	}
	record(in, j1, "a")
	record(in, j2, "b")
	record(in, uuid.Nil, "c")
	record(other, uuid.New(), "x")
	record(in, j1, "d")
	record(in, j2, "e")
	record(in, j1, "f")

	check := func(what string, evs []store.Event, err error, want ...string) {
		t.Helper()
		must(t, err)
		var got []string
		for i, e := range evs {
			got = append(got, e.Key)
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Errorf("%s: Seq not increasing: %d after %d", what, e.Seq, evs[i-1].Seq)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	evs, err := s.JourneyEvents(ctx, j1)
	check("JourneyEvents(j1)", evs, err, "a", "d", "f")
	evs, err = s.JourneyEvents(ctx, j2)
	check("JourneyEvents(j2)", evs, err, "b", "e")
	evs, err = s.IntakeEvents(ctx, in.ID)
	check("IntakeEvents", evs, err, "a", "b", "c", "d", "e", "f")
}

// ---- projections -------------------------------------------------------------

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
	join := func(in store.Intake, person uuid.UUID, state, outcome string) {
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
	states := []string{"lab", "lab", "offered", "withdrawn", "lab"}
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
		for k, state := range []string{"submitted", "offered", "lab", "experimentation"}[:i+1] {
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

// ---- outbox ----------------------------------------------------------------

func testListMessagesFilters(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in1, in2 := newIntake(t, s), newIntake(t, s)
	j1, j2, j3 := uuid.New(), uuid.New(), uuid.New()
	coach := uuid.New()
	mk := func(in store.Intake, journey uuid.UUID, key string, hours int, recipient uuid.UUID) store.Message {
		m := message(in, journey, key, base.Add(time.Duration(hours)*time.Hour))
		if recipient != uuid.Nil {
			m.RecipientID, m.Role = recipient, store.RoleCoach
		}
		return m
	}
	m := []store.Message{
		mk(in1, j1, "m0", 5, uuid.Nil),
		mk(in1, j1, "m1", 1, coach),
		mk(in1, j2, "m2", 3, coach),
		mk(in2, j3, "m3", 2, uuid.Nil),
		mk(in2, j3, "m4", 4, coach),
	}
	_, err := s.Record(ctx, journeyEvent(in1, j1, "e1", "t", nil), m[0], m[1])
	must(t, err)
	_, err = s.Record(ctx, journeyEvent(in1, j2, "e2", "t", nil), m[2])
	must(t, err)
	_, err = s.Record(ctx, journeyEvent(in2, j3, "e3", "t", nil), m[3], m[4])
	must(t, err)
	// An intake-level message (to the coordinator, about no journey).
	coord := store.Message{Key: "m5", RecipientID: in1.CoordinatorID, Role: store.RoleCoordinator,
		Template: "intake.closed", SendAt: base.Add(6 * time.Hour)}
	_, err = s.Record(ctx, store.Event{Key: "e4", IntakeID: in1.ID, Type: "intake.closed"}, coord)
	must(t, err)

	for _, tc := range []struct {
		name string
		f    store.OutboxFilter
		want []string
	}{
		{"all", store.OutboxFilter{}, []string{"m1", "m3", "m2", "m4", "m0", "m5"}},
		{"limit", store.OutboxFilter{Limit: 2}, []string{"m1", "m3"}},
		{"intake", store.OutboxFilter{IntakeID: in1.ID}, []string{"m1", "m2", "m0", "m5"}},
		{"journey", store.OutboxFilter{JourneyID: j1}, []string{"m1", "m0"}},
		{"recipient", store.OutboxFilter{RecipientID: coach}, []string{"m1", "m2", "m4"}},
		{"intake and recipient", store.OutboxFilter{IntakeID: in2.ID, RecipientID: coach}, []string{"m4"}},
		{"queued", store.OutboxFilter{Status: store.MessageQueued, Limit: 3}, []string{"m1", "m3", "m2"}},
		{"sent", store.OutboxFilter{Status: store.MessageSent}, nil},
		{"no match", store.OutboxFilter{JourneyID: uuid.New()}, nil},
	} {
		got, err := s.ListMessages(ctx, tc.f)
		must(t, err)
		var keys []string
		for _, m := range got {
			keys = append(keys, m.Key)
		}
		if !reflect.DeepEqual(keys, tc.want) {
			t.Errorf("ListMessages(%s) = %v, want %v", tc.name, keys, tc.want)
		}
	}
	got, err := s.ListMessages(ctx, store.OutboxFilter{IntakeID: in1.ID})
	must(t, err)
	last := got[len(got)-1]
	if last.Key != "m5" || last.JourneyID != uuid.Nil || last.IntakeID != in1.ID || last.Role != store.RoleCoordinator {
		t.Errorf("intake-level message = %+v", last)
	}
}

// ---- notes -----------------------------------------------------------------

func testNotes(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	n := store.Note{
		ID:        uuid.New(),
		AuthorID:  uuid.New(),
		JourneyID: uuid.New(),
		Body:      "Cynllun arbrawf: lleihau teithio staff.\nExperiment plan: cut staff travel. ✓",
		CreatedAt: base,
	}
	must(t, s.SaveNote(ctx, n))
	got, err := s.GetNote(ctx, n.ID)
	must(t, err)
	sameTime(t, "note CreatedAt", got.CreatedAt, n.CreatedAt)
	got.CreatedAt, n.CreatedAt = time.Time{}, time.Time{}
	if got != n {
		t.Errorf("note = %+v\nwant   %+v", got, n)
	}
	must(t, s.SaveNote(ctx, n)) // a retry is fine
	changed := n
	changed.Body = "something else"
	if err := s.SaveNote(ctx, changed); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveNote with changed body: %v, want store.ErrConflict", err)
	}
	if err := s.SaveNote(ctx, store.Note{ID: uuid.New(), AuthorID: uuid.New()}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SaveNote with no body: %v, want store.ErrInvalid", err)
	}

	intakeNote := store.Note{ID: uuid.New(), AuthorID: uuid.New(), Body: "no journey"}
	before := time.Now()
	must(t, s.SaveNote(ctx, intakeNote))
	got, err = s.GetNote(ctx, intakeNote.ID)
	must(t, err)
	if got.JourneyID != uuid.Nil || got.Body != intakeNote.Body {
		t.Errorf("note without journey = %+v", got)
	}
	recentTime(t, "defaulted note CreatedAt", got.CreatedAt, before)

	must(t, s.DeleteNote(ctx, n.ID))
	if _, err := s.GetNote(ctx, n.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNote after DeleteNote: %v, want store.ErrNotFound", err)
	}
	must(t, s.DeleteNote(ctx, n.ID)) // already gone: nothing to do
	if _, err := s.GetNote(ctx, intakeNote.ID); err != nil {
		t.Errorf("deleting one note touched another: %v", err)
	}
}
