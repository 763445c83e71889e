package sqlitestore

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// TestEncode: each argument is stored as SQLite keeps it, so that what
// PostgreSQL takes as it is sorts and compares alike here.
func TestEncode(t *testing.T) {
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	at := time.Date(2027, 3, 28, 1, 30, 0, 123456789, time.FixedZone("BST", 3600))
	type role string
	for _, c := range []struct {
		name string
		in   any
		want any
	}{
		{"a time, as UTC text to the microsecond", at, "2027-03-28T00:30:00.123456Z"},
		{"the zero time, as a time (NullTime makes NULL)", time.Time{}, "0001-01-01T00:00:00.000000Z"},
		{"a UUID, as text", id, id.String()},
		{"uuid.Nil, as text (NullUUID makes NULL)", uuid.Nil, uuid.Nil.String()},
		{"true", true, 1},
		{"false", false, 0},
		{"JSON, as text", sqlstore.JSON(`{"a":1}`), `{"a":1}`},
		{"no JSON, as NULL", sqlstore.JSON(nil), nil},
		{"JSON null, as its text", sqlstore.JSON("null"), "null"},
		{"a list of IDs", sqlstore.List[int64]{3, 1}, "[3,1]"},
		{"a list of keys", sqlstore.List[string]{"a", `b"c`}, `["a","b\"c"]`},
		{"an empty list", sqlstore.List[string]{}, "[]"},
		{"NULL", nil, nil},
		{"a BLOB", []byte{0, 1}, []byte{0, 1}},
		{"a string type", role("coach"), role("coach")},
		{"a number", int64(7), int64(7)},
	} {
		got := encode([]any{c.in})
		if len(got) != 1 || !reflect.DeepEqual(got[0], c.want) {
			t.Errorf("%s: encode(%#v) = %#v, want %#v", c.name, c.in, got, c.want)
		}
	}
	args := []any{at}
	encode(args)
	if args[0] != at {
		t.Errorf("encode changed its caller's arguments: %#v", args)
	}
}

// TestEncodeRefusesWhatItCannotStore: an argument of a type encode does
// not know (a *time.Time, a struct) is a programming error, said at once
// rather than stored in the driver's own form.
func TestEncodeRefusesWhatItCannotStore(t *testing.T) {
	at := time.Now()
	for _, arg := range []any{&at, store.Person{}, json.RawMessage(`{}`), map[string]int{}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "has no encoding") {
					t.Errorf("encode(%T) = no panic (%v), want one naming the type", arg, r)
				}
			}()
			encode([]any{arg})
		}()
	}
}

// TestRecordRunsPreparedStatements: every statement Record runs, for a new
// event with a snapshot, a status and a message, fenced or not, is one
// prepared as the store opened: SQLite parses a statement each time it runs
// one unprepared, which was a fifth of a journey's records.
func TestRecordRunsPreparedStatements(t *testing.T) {
	ctx := t.Context()
	s := OpenTest(t)
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		Status: store.IntakeOpen}
	if err := s.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	if s.unprepared.Load() == 0 {
		t.Fatal("creating an intake ran no statement unprepared, so the count proves nothing")
	}
	s.unprepared.Store(0)
	journey := uuid.New()
	for i, attempt := range []*store.TaskAttempt{nil, {Stream: "journey/" + journey.String(), Seq: 1, Fence: 1}} {
		key := journey.String() + "/" + string(rune('a'+i))
		_, err := s.Record(ctx, store.Event{Key: key, IntakeID: in.ID, JourneyID: journey, Type: "journey.changed",
			OccurredAt: time.Now(), Data: json.RawMessage(`{"n":1}`), IntakeStatus: store.IntakeClosed, Attempt: attempt,
			Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: uuid.New(), State: contract.StatusOffered}},
			store.Message{Key: key, IntakeID: in.ID, JourneyID: journey, RecipientID: uuid.New(), Role: store.RoleParticipant,
				Template: "offer", Channel: "email", SendAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.unprepared.Load(); n != 0 {
		t.Errorf("Record ran %d statements unprepared; add them to sqlstore.Queries.Recording", n)
	}
}

// TestPanicInTransactionGivesTheConnectionBack: a panic inside a write
// transaction (encode refusing an argument, say) rolls it back, so the one
// write connection is free for the next write, whoever recovers the panic.
func TestPanicInTransactionGivesTheConnectionBack(t *testing.T) {
	ctx := t.Context()
	s := OpenTest(t)
	func() {
		defer func() { _ = recover() }()
		_ = s.tx(ctx, func(tx sqlstore.DB) error {
			_, err := tx.Exec(ctx, `DELETE FROM notes WHERE id = $1`, new(time.Time)) // refused
			return err
		})
		t.Error("the refused argument did not panic")
	}()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.SaveNote(wait, store.Note{ID: uuid.New(), AuthorID: uuid.New(), Body: "after the panic"}); err != nil {
		t.Errorf("a write after a panicking transaction: %v (the write connection was not given back)", err)
	}
}
