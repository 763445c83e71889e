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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
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
		{"RosterFiltered", testRosterFiltered},
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

func snapshot(in store.Intake, journey, person uuid.UUID, state contract.Status) *store.JourneySnapshot {
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
