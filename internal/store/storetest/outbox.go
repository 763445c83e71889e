package storetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// getMessage reads one message back by key.
func getMessage(t *testing.T, s store.Store, journey uuid.UUID, key string) store.Message {
	t.Helper()
	msgs, err := s.ListMessages(ctxFor(t), store.OutboxFilter{JourneyID: journey})
	must(t, err)
	for _, m := range msgs {
		if m.Key == key {
			return m
		}
	}
	t.Fatalf("message %q not in the outbox", key)
	return store.Message{}
}

func keys(msgs []store.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Key)
	}
	return out
}

// marker is the owner the suite marks messages as when nobody claimed them,
// which any owner may.
const marker = "storetest"

func mustIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// testMessageItemFields: the item's times, revision and cancellation round
// trip; delivery state handed to Record is ignored.
func testMessageItemFields(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	m := message(in, journey, "session", base.Add(time.Hour))
	m.ItemStartsAt = time.Date(2021, 10, 31, 10, 0, 0, 987654321, bst)
	m.ItemEndsAt = m.ItemStartsAt.Add(90 * time.Minute)
	m.Revision = 2
	m.Cancels = true
	m.Attempts, m.LastError, m.SentAt, m.MessageID = 7, "x", base, "<x@y>"
	m.NextAttemptAt, m.ClaimedBy, m.ClaimedUntil = base, "a deliverer", base
	plain := message(in, journey, "task", base.Add(2*time.Hour))
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil), m, plain)
	must(t, err)

	got := getMessage(t, s, journey, "session")
	sameTime(t, "ItemStartsAt", got.ItemStartsAt, m.ItemStartsAt)
	sameTime(t, "ItemEndsAt", got.ItemEndsAt, m.ItemEndsAt)
	if got.Revision != 2 || !got.Cancels {
		t.Errorf("Revision, Cancels = %d, %v; want 2, true", got.Revision, got.Cancels)
	}
	if got.Attempts != 0 || got.LastError != "" || !got.SentAt.IsZero() || got.MessageID != "" ||
		!got.NextAttemptAt.IsZero() || got.Status != store.MessageQueued || got.ClaimedBy != "" || !got.ClaimedUntil.IsZero() {
		t.Errorf("a new message carries delivery state: %+v", got)
	}
	p := getMessage(t, s, journey, "task")
	if !p.ItemStartsAt.IsZero() || !p.ItemEndsAt.IsZero() || p.Revision != 0 || p.Cancels {
		t.Errorf("message without item times = %+v", p)
	}

	bad := message(in, journey, "bad", base)
	bad.ItemStartsAt, bad.ItemEndsAt = base, base.Add(-time.Minute)
	_, err = s.Record(ctx, journeyEvent(in, journey, "e2", "t", nil), bad)
	mustIs(t, "item ending before it starts", err, store.ErrInvalid)
	bad = message(in, journey, "bad", base)
	bad.Revision = -1
	_, err = s.Record(ctx, journeyEvent(in, journey, "e3", "t", nil), bad)
	mustIs(t, "negative revision", err, store.ErrInvalid)
}

// testDueMessages: only queued messages whose SendAt and next attempt have
// come, oldest first, up to the limit.
func testDueMessages(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	now := base.Add(10 * time.Hour)
	mk := func(key string, hours float64) store.Message {
		return message(in, journey, key, base.Add(time.Duration(hours*float64(time.Hour))))
	}
	// Every message has its own recipient, so order is only by SendAt.
	msgs := []store.Message{mk("late", 11), mk("b", 3), mk("a", 1), mk("c", 5), mk("exactly-now", 10), mk("sent", 2),
		mk("failed", 2), mk("retry-later", 4), mk("retry-now", 6)}
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil), msgs...)
	must(t, err)
	must(t, s.MarkSent(ctx, "sent", "<1@x>", now))
	must(t, s.MarkFailed(ctx, marker, "failed", "550 no such user"))
	must(t, s.MarkRetry(ctx, marker, "retry-later", now.Add(time.Minute), "421 busy"))
	must(t, s.MarkRetry(ctx, marker, "retry-now", now, "421 busy"))

	got, err := s.DueMessages(ctx, now, 0)
	must(t, err)
	if want := []string{"a", "b", "c", "retry-now", "exactly-now"}; !reflect.DeepEqual(keys(got), want) {
		t.Errorf("DueMessages = %v, want %v", keys(got), want)
	}
	got, err = s.DueMessages(ctx, now, 2)
	must(t, err)
	if want := []string{"a", "b"}; !reflect.DeepEqual(keys(got), want) {
		t.Errorf("DueMessages(limit 2) = %v, want %v", keys(got), want)
	}
	// The messages come back whole.
	got, err = s.DueMessages(ctx, now.In(bst), 1)
	must(t, err)
	if len(got) != 1 || got[0].RecipientID != msgs[2].RecipientID || got[0].Template != msgs[2].Template {
		t.Errorf("DueMessages = %+v, want message a", got)
	}
	sameTime(t, "due SendAt", got[0].SendAt, msgs[2].SendAt)
	got, err = s.DueMessages(ctx, base, 10)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("DueMessages before anything is due = %v", keys(got))
	}
}

// testDueMessagesRecipientOrder: a recipient's later message waits while an
// earlier one is held back for a retry, but not once it has failed or gone.
func testDueMessagesRecipientOrder(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	siân, rhys := uuid.New(), uuid.New()
	mk := func(key string, to uuid.UUID, hours int) store.Message {
		m := message(in, journey, key, base.Add(time.Duration(hours)*time.Hour))
		m.RecipientID = to
		return m
	}
	same := base.Add(2 * time.Hour)
	s1, s2, s3 := mk("s1", siân, 1), mk("s2", siân, 2), mk("s3", siân, 3)
	r1 := mk("r1", rhys, 2)
	// Two messages due at the same instant go in the order they were queued.
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil), s1, s2, r1)
	must(t, err)
	tie := mk("s2b", siân, 2)
	tie.SendAt = same
	_, err = s.Record(ctx, journeyEvent(in, journey, "e2", "t", nil), tie, s3)
	must(t, err)

	now := base.Add(5 * time.Hour)
	due := func(want ...string) {
		t.Helper()
		got, err := s.DueMessages(ctx, now, 0)
		must(t, err)
		if !reflect.DeepEqual(keys(got), want) {
			t.Errorf("DueMessages = %v, want %v", keys(got), want)
		}
	}
	// (Record queues an event's messages in key order: r1 before s2.)
	due("s1", "r1", "s2", "s2b", "s3")
	// s1 fails for now: nothing of Siân's goes before it.
	must(t, s.MarkRetry(ctx, marker, "s1", now.Add(time.Minute), "421 busy"))
	due("r1")
	// s2 is held back: s1 may go again, s2b and s3 wait.
	now = now.Add(time.Minute)
	must(t, s.MarkRetry(ctx, marker, "s2", now.Add(time.Hour), "421 busy"))
	due("s1", "r1")
	must(t, s.MarkSent(ctx, "s1", "<s1@x>", now))
	due("r1")
	// Once s2 is given up, the rest of Siân's queue moves.
	must(t, s.MarkFailed(ctx, marker, "s2", "gave up"))
	due("r1", "s2b", "s3")
}

func testMarkSent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil),
		message(in, journey, "m1", base), message(in, journey, "m2", base))
	must(t, err)
	at := base.Add(time.Minute)
	must(t, s.MarkRetry(ctx, marker, "m1", base.Add(time.Minute), "421 4.3.0 try later"))
	must(t, s.MarkSent(ctx, "m1", "<abc@infuse-journeys>", at))
	got := getMessage(t, s, journey, "m1")
	if got.Status != store.MessageSent || got.MessageID != "<abc@infuse-journeys>" || got.Attempts != 1 ||
		got.LastError != "421 4.3.0 try later" || !got.NextAttemptAt.IsZero() {
		t.Errorf("sent message = %+v", got)
	}
	sameTime(t, "SentAt", got.SentAt, at)
	// Again: nothing changes, no error.
	must(t, s.MarkSent(ctx, "m1", "<other@x>", at.Add(time.Hour)))
	again := getMessage(t, s, journey, "m1")
	if again.MessageID != got.MessageID || !again.SentAt.Equal(got.SentAt) {
		t.Errorf("second MarkSent changed the message: %+v", again)
	}
	// A sent message can be neither retried, failed nor deferred.
	mustIs(t, "MarkRetry of a sent message", s.MarkRetry(ctx, marker, "m1", at, "x"), store.ErrConflict)
	mustIs(t, "MarkFailed of a sent message", s.MarkFailed(ctx, marker, "m1", "x"), store.ErrConflict)
	mustIs(t, "Defer of a sent message", s.Defer(ctx, marker, "m1", at.Add(time.Hour)), store.ErrConflict)
	// A failed message the server did accept after all becomes sent.
	must(t, s.MarkFailed(ctx, marker, "m2", "gave up"))
	must(t, s.MarkSent(ctx, "m2", "<m2@x>", time.Time{}))
	if got := getMessage(t, s, journey, "m2"); got.Status != store.MessageSent || got.SentAt.IsZero() {
		t.Errorf("failed then sent = %+v", got)
	}
	mustNotFound(t, "MarkSent of an unknown key", s.MarkSent(ctx, "nope", "<x@y>", at))
	mustIs(t, "MarkSent without a key", s.MarkSent(ctx, "", "<x@y>", at), store.ErrInvalid)
}

// SentEmails counts what one person was sent in a window: a digest (two
// messages, one Message-ID) once, nothing sent before the window or at its
// end, nothing sent to anyone else (and nothing not sent, which has no
// SentAt).
func testSentEmails(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	from, to := base, base.Add(24*time.Hour)
	sent := map[string]struct {
		id string
		at time.Time
	}{
		"digest-1": {"<digest@x>", from}, "digest-2": {"<digest@x>", from},
		"later":      {"<later@x>", to.Add(-time.Microsecond)},
		"before":     {"<before@x>", from.Add(-time.Microsecond)},
		"at-the-end": {"<end@x>", to},
		"another's":  {"<another@x>", from.Add(time.Hour)},
	}
	var msgs []store.Message
	for _, key := range []string{"digest-1", "digest-2", "later", "before", "at-the-end", "another's", "queued"} {
		m := message(in, journey, key, base)
		if key != "another's" {
			m.RecipientID = person
		}
		msgs = append(msgs, m)
	}
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil), msgs...)
	must(t, err)
	for key, m := range sent {
		must(t, s.MarkSent(ctx, key, m.id, m.at))
	}
	n, err := s.SentEmails(ctx, person, from, to)
	must(t, err)
	if n != 2 {
		t.Errorf("SentEmails = %d, want 2 (the digest once, and the later one)", n)
	}
	if n, err := s.SentEmails(ctx, uuid.New(), from, to); err != nil || n != 0 {
		t.Errorf("SentEmails of someone sent nothing = %d, %v; want 0", n, err)
	}
}

func testMarkRetryAndFailed(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil), message(in, journey, "m1", base))
	must(t, err)
	next := base.Add(time.Minute)
	must(t, s.MarkRetry(ctx, marker, "m1", next, "dial tcp 127.0.0.1:2525: connection refused"))
	must(t, s.MarkRetry(ctx, marker, "m1", next.Add(2*time.Minute), "421 4.3.2 shutting down"))
	got := getMessage(t, s, journey, "m1")
	if got.Status != store.MessageQueued || got.Attempts != 2 || got.LastError != "421 4.3.2 shutting down" {
		t.Errorf("retried message = %+v", got)
	}
	sameTime(t, "NextAttemptAt", got.NextAttemptAt, next.Add(2*time.Minute))

	mustIs(t, "MarkRetry without a reason", s.MarkRetry(ctx, marker, "m1", next, "  "), store.ErrInvalid)
	mustIs(t, "MarkRetry without a time", s.MarkRetry(ctx, marker, "m1", time.Time{}, "x"), store.ErrInvalid)
	mustIs(t, "MarkFailed without a reason", s.MarkFailed(ctx, marker, "m1", ""), store.ErrInvalid)
	mustNotFound(t, "MarkRetry of an unknown key", s.MarkRetry(ctx, marker, "nope", next, "x"))
	mustNotFound(t, "MarkFailed of an unknown key", s.MarkFailed(ctx, marker, "nope", "x"))

	long := strings.Repeat("ŵ", 3000) // longer than the store keeps
	must(t, s.MarkFailed(ctx, marker, "m1", long))
	got = getMessage(t, s, journey, "m1")
	if got.Status != store.MessageFailed || got.Attempts != 3 || !got.NextAttemptAt.IsZero() {
		t.Errorf("failed message = %+v", got)
	}
	if len(got.LastError) > 2000 || !strings.HasPrefix(got.LastError, "ŵŵŵ") || !strings.HasSuffix(got.LastError, "…") {
		t.Errorf("long reason kept as %d bytes ending %q", len(got.LastError), got.LastError[len(got.LastError)-8:])
	}
	// Failing again is a no-op; retrying a failed message is refused.
	must(t, s.MarkFailed(ctx, marker, "m1", "again"))
	if got := getMessage(t, s, journey, "m1"); got.Attempts != 3 || got.LastError == "again" {
		t.Errorf("second MarkFailed changed the message: %+v", got)
	}
	mustIs(t, "MarkRetry of a failed message", s.MarkRetry(ctx, marker, "m1", next, "x"), store.ErrConflict)

	// Coordinators find failed messages, with the reason.
	failed, err := s.ListMessages(ctx, store.OutboxFilter{IntakeID: in.ID, Status: store.MessageFailed})
	must(t, err)
	if len(failed) != 1 || failed[0].Key != "m1" || failed[0].LastError == "" {
		t.Errorf("failed messages of the intake = %+v", failed)
	}
}

func testDefer(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	_, err := s.Record(ctx, journeyEvent(in, journey, "e1", "t", nil), message(in, journey, "m1", base))
	must(t, err)
	until := base.Add(12 * time.Hour)
	must(t, s.Defer(ctx, marker, "m1", until))
	got := getMessage(t, s, journey, "m1")
	sameTime(t, "deferred SendAt", got.SendAt, until)
	if got.Attempts != 0 || got.Status != store.MessageQueued {
		t.Errorf("deferred message = %+v, want queued with no attempt counted", got)
	}
	// Never earlier.
	must(t, s.Defer(ctx, marker, "m1", base.Add(time.Hour)))
	sameTime(t, "SendAt after deferring to an earlier time", getMessage(t, s, journey, "m1").SendAt, until)
	due, err := s.DueMessages(ctx, until.Add(-time.Second), 0)
	must(t, err)
	if len(due) != 0 {
		t.Errorf("deferred message due before its new time: %v", keys(due))
	}
	due, err = s.DueMessages(ctx, until, 0)
	must(t, err)
	if len(due) != 1 {
		t.Errorf("deferred message not due at its new time: %v", keys(due))
	}
	mustNotFound(t, "Defer of an unknown key", s.Defer(ctx, marker, "nope", until))
	mustIs(t, "Defer without a time", s.Defer(ctx, marker, "m1", time.Time{}), store.ErrInvalid)
}

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
